package transcode

import (
	"fmt"
	"strings"
	"time"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// SetSourceRung turns the source rung on or off at run time: off retires
// the source feed (it is Leaving at once, so its viewers switch to the top
// transcoded rung with no gap, and Gone a moment later); on brings it back when the source is eligible and no
// mutation chain is in force. It never blocks and is safe from any
// goroutine; the pipeline goroutine applies it.
func (p *Pipeline) SetSourceRung(on bool) {
	p.srcWant.Store(on)
	select {
	case p.srcNotify <- struct{}{}:
	default: // a notice is already queued; it reads the latest value
	}
}

// handleVideo forwards one source packet to the source rung and hands it
// to the decoder.
func (p *Pipeline) handleVideo(pkt *stream.Packet) {
	wasDecided, wasEligible := p.src.decided, p.src.eligible()
	if p.src.observe(pkt) {
		p.logSourceChange(wasDecided, wasEligible)
		if p.video.rungs == nil && !p.video.failed && p.src.shape.width > 0 && p.src.shape.height > 0 {
			// The SPS gives the size before the decoder does.
			if err := p.openRungs(p.src.shape.width, p.src.shape.height); err != nil {
				p.log.Error("transcode setup failed; stream has no output", "err", err)
				p.video.failed = true
			}
		}
		p.syncLadder()
	}
	p.src.keys.poll()
	p.src.write(pkt)
	if !p.src.leaveAt.IsZero() {
		p.syncLadder() // the Leaving source rung's time is up
	}
	p.video.handle(pkt)
}

// logSourceChange says why the source rung comes or goes.
func (p *Pipeline) logSourceChange(wasDecided, wasEligible bool) {
	s := p.src
	switch {
	case !s.allowed:
	case s.eligible() && !wasEligible:
		p.log.Info("source rung: source is browser-playable", "size", fmt.Sprintf("%dx%d", s.shape.width, s.shape.height), "on", s.on)
	case !s.eligible() && wasEligible:
		p.log.Info("source rung off: source no longer browser-playable", "why", s.why())
	case !s.eligible() && !wasDecided:
		p.log.Info("no source rung: source is not browser-playable", "why", s.why())
	}
}

// openRungs opens the encoders for a srcW x srcH source; syncLadder then
// installs them.
func (p *Pipeline) openRungs(srcW, srcH int) error {
	rungs := planLadder(p.cfg.Ladder, srcW, srcH, p.cfg.LowFPSRung)
	encs := make([]*rungEncoder, 0, len(rungs))
	byName := make(map[string]*rungEncoder, len(rungs))
	for _, r := range rungs {
		w, h := r.Width, r.Height // planned for the source (rungSize)
		base := byName[r.lowFPSOf]
		if base != nil {
			w, h = base.w, base.h // it encodes its base rung's scaled frames
		}
		e, err := newRungEncoder(p.name, r, nil, w, h, p.cfg, p.hw, p.log)
		if err != nil {
			for _, e := range encs {
				e.close()
			}
			return err
		}
		e.dev.toHost = p.video.toHost
		if p.cfg.VP8.Enabled {
			// A rung without its VP8 twin still serves H.264 viewers.
			if twin, err := newVP8Twin(p.name, r, w, h, p.cfg, p.log); err == nil {
				e.vp8 = twin
			} else {
				p.log.Warn("rung has no VP8 twin", "rung", r.Name, "err", err)
			}
		}
		if base != nil {
			base.low = e
		}
		encs = append(encs, e)
		byName[r.Name] = e
	}
	if p.hasAudio && p.audioTrack.Codec != stream.CodecOpus && p.audioEnc == nil {
		var err error
		if p.audioEnc, err = newAudioEncoder(nil, p.cfg.AudioBitrate); err != nil {
			p.log.Warn("audio dropped: cannot encode Opus", "err", err)
		}
	}
	p.video.rungs = encs
	p.video.srcW, p.video.srcH = srcW, srcH
	p.pub.SetVideoSize(srcW, srcH)
	var backends strings.Builder
	twins := 0
	for i, e := range encs {
		if i > 0 {
			backends.WriteByte(' ')
		}
		backends.WriteString(e.rung.Name + ":" + e.encoder)
		if e.vp8 != nil {
			twins++
		}
	}
	p.log.Info("encoders ready", "source", fmt.Sprintf("%dx%d", srcW, srcH), "rungs", len(encs), "encoders", backends.String(),
		"vp8_twins", twins, "vp8", vp8Name(p.cfg.VP8), "audio", p.hasAudio)
	return nil
}

// syncLadder installs the ladder once the encoders are open and, when a
// source rung may be offered, the first keyframe has said whether it is
// one; later it reinstalls the ladder when the source rung comes or goes.
// A source rung withdrawn while still playable (a mutation chain comes into
// force, or SetSourceRung(false)) leaves in two steps: it is Leaving at
// once, so that its viewers switch to a transcoded rung at that rung's next
// keyframe with no gap, and leaves the ladder sourceLeaveGrace later.
func (p *Pipeline) syncLadder() {
	p.src.on = p.srcWant.Load() && !p.mut.active() // viewers never see the unmutated source
	if p.video.rungs == nil || (!p.installed && p.src.pending()) {
		return
	}
	want := p.src.wanted()
	if !p.src.leaveAt.IsZero() {
		if time.Now().Before(p.src.leaveAt) {
			return
		}
		p.src.leaveAt = time.Time{}
		p.installLadder(want) // a Leaving feed is never reused: a source rung wanted again is a new feed
		return
	}
	if p.installed && want == (p.src.feed != nil) && (!want || p.src.feed.Info() == p.src.info()) {
		return
	}
	if p.installed && !want && p.src.feed != nil && p.src.eligible() && len(p.video.rungs) > 0 {
		p.src.feed.Leave()
		p.src.leaveAt = time.Now().Add(p.cfg.KeyframeMinInterval + sourceLeaveGrace)
		p.log.Info("source rung leaving: its viewers move to a transcoded rung at its next keyframe")
		return
	}
	p.installLadder(want)
}

// sourceLeaveGrace is how long, beyond the least keyframe interval, a
// Leaving source rung goes on: long enough for its viewers' switch.
const sourceLeaveGrace = time.Second

// installLadder hands the stream its rungs: the H.264 feeds (the source
// first when withSource and the source is H.264), then the VP8 ones (the
// source first when withSource and the source is VP8, then every rung's
// VP8 twin, in the same order).
func (p *Pipeline) installLadder(withSource bool) {
	srcCodec := p.src.codec
	infos := make([]stream.FeedInfo, 0, 2*len(p.video.rungs)+1)
	for _, c := range []stream.Codec{stream.CodecH264, stream.CodecVP8} {
		if withSource && srcCodec == c {
			infos = append(infos, p.src.info())
		}
		for _, e := range p.video.rungs {
			if t := e.twin(c); t != nil {
				infos = append(infos, t.info())
			}
		}
	}
	feeds, audioFeed := p.pub.Stream().SetLadder(infos, stream.FeedInfo{Name: "audio", Codec: stream.CodecOpus})
	var srcFeed *stream.Feed
	for _, c := range []stream.Codec{stream.CodecH264, stream.CodecVP8} {
		if withSource && srcCodec == c {
			srcFeed = feeds[0]
			feeds = feeds[1:]
		}
		for _, e := range p.video.rungs {
			if t := e.twin(c); t != nil {
				t.feed = feeds[0]
				feeds[0].SetKeyframeRequester(t.requestKeyframe)
				feeds = feeds[1:]
			}
		}
	}
	p.src.attach(srcFeed, p.name)
	if p.audioEnc != nil {
		p.audioEnc.feed = audioFeed
	}
	p.audioFeed = audioFeed
	p.installed = true
	p.log.Info("ladder ready", "rungs", len(infos), "source_rung", withSource, "source_codec", srcCodec, "audio", p.hasAudio)
}

// replan rebuilds the encoders for a new source size (a browser publisher
// ramps its resolution up and down with its bandwidth estimate) and
// reinstalls the ladder: rungs that now fit appear, rungs that no longer fit
// retire, and rungs whose shape is unchanged keep their feed and viewers.
func (p *Pipeline) replan(w, h int) {
	old := p.video.rungs
	p.video.rungs = nil
	if err := p.openRungs(w, h); err != nil {
		p.log.Warn("cannot re-plan the ladder for the new source size; scaling to the old one", "size", fmt.Sprintf("%dx%d", w, h), "err", err)
		p.video.rungs = old
		p.video.srcW, p.video.srcH = w, h
		return
	}
	kept := map[string]bool{}
	for _, e := range p.video.rungs {
		kept[e.rung.Name] = true
	}
	for _, e := range old {
		e.close()
		if !kept[e.rung.Name] {
			metrics.DeleteRung(p.name, e.rung.Name)
		}
	}
	if p.installed {
		p.installLadder(p.src.feed != nil)
	} else {
		p.syncLadder()
	}
}
