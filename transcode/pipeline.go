// Package transcode runs one pipeline per live stream: it decodes the
// publisher's packets with FFmpeg (on NVDEC where Deps.Hardware asks for it
// and it opens), scales them into the ladder's rungs, encodes each rung
// with libx264 or h264_nvenc (IDRs at the same PTS on every rung) and
// the audio with libopus (Opus passes through), and writes the results into
// the stream's feeds. A source that browsers can play as it is (H.264
// without B-frames) is also forwarded unchanged as the top rung, "source".
package transcode

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/gpu/cpu"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

var _ stream.Pipeline = (*Pipeline)(nil)

// Pipeline transcodes one publication. It owns one goroutine and every
// FFmpeg object it uses; Close stops it and frees them.
type Pipeline struct {
	pub  *stream.Publication
	cfg  Config
	log  *slog.Logger
	name string

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	srcWant   atomic.Bool   // SetSourceRung's last word
	srcNotify chan struct{} // capacity 1: srcWant changed
	chainReq  chan chainRequest

	// Owned by the run goroutine.
	video      *videoPath
	audioTrack stream.Track
	hasAudio   bool
	audioDec   *decoder
	audioEnc   *audioEncoder
	audioFeed  *stream.Feed
	decErrs    *errorLog
	src        *sourceRung
	installed  bool // the ladder has been installed
	mut        *mutator
	hw         Hardware
}

// Deps are what a pipeline runs with beside its Config.
type Deps struct {
	// Backend runs mutation chains; nil means the CPU backend.
	Backend gpu.Backend
	// Chain is the mutation chain in force from the first frame; empty
	// means none.
	Chain []gpu.Spec
	// OnEvent receives the events the chain's analysis ops emit, with
	// Event.Stream set. It is called on the pipeline goroutine and must not
	// block.
	OnEvent func(gpu.Event)
	// OnError is what is encoded in place of a frame the chain failed on:
	// OnErrorHold (the default, also "") or OnErrorBlack. The failed frame
	// itself never is.
	OnError string
	// Hardware says whether video decodes on NVDEC, scales with scale_cuda
	// and encodes on NVENC, each falling back to the CPU on its own; zero
	// means the CPU.
	Hardware Hardware
}

// Start opens the publication's decoders and starts its pipeline, with no
// mutation chain and the CPU backend. It returns quickly; encoders are
// opened by the pipeline's goroutine once the source size is known.
func Start(pub *stream.Publication, cfg Config, log *slog.Logger) (*Pipeline, error) {
	return StartWith(pub, cfg, Deps{}, log)
}

// StartWith is Start with a mutation backend, a chain in force from the
// first frame and a receiver of the chain's events. An invalid chain is an
// error and nothing is started.
func StartWith(pub *stream.Publication, cfg Config, deps Deps, log *slog.Logger) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	name := pub.Stream().Name()
	vt, ok := pub.Track(stream.KindVideo)
	if !ok {
		return nil, ErrNoVideo
	}
	p := &Pipeline{
		pub:     pub,
		cfg:     cfg,
		log:     log.With("component", "transcode", "stream", name),
		name:    name,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		decErrs: &errorLog{every: 5 * time.Second},

		srcNotify: make(chan struct{}, 1),
		chainReq:  make(chan chainRequest),
		hw:        deps.Hardware,
	}
	p.srcWant.Store(true)
	p.src = newSourceRung(pub, vt, cfg)
	if deps.Backend == nil {
		deps.Backend = cpu.New(0)
	}
	if !ValidOnError(deps.OnError) {
		return nil, fmt.Errorf("stream %q: on_error %q: %w: must be hold or black", name, deps.OnError, ErrInvalidConfig)
	}
	p.mut = newMutator(deps.Backend, name, deps.OnEvent, p.log)
	if deps.OnError != "" {
		p.mut.onError = deps.OnError
	}
	if err := p.mut.set(deps.Chain, vt.Width, vt.Height); err != nil {
		return nil, fmt.Errorf("stream %q: %w", name, err)
	}
	dec, err := openVideoDecoder(vt, deps.Hardware, p.log)
	if err != nil {
		return nil, fmt.Errorf("stream %q video: %w", name, err)
	}
	p.video = &videoPath{p: p, dec: dec, track: vt, srcW: vt.Width, srcH: vt.Height, needKey: true, onDevice: deps.Hardware.Scale}
	if at, ok := pub.Track(stream.KindAudio); ok {
		p.audioTrack, p.hasAudio = at, true
		if at.Codec != stream.CodecOpus {
			if p.audioDec, err = openDecoder(at); err != nil {
				p.log.Warn("audio dropped: cannot decode it", "codec", at.Codec, "err", err)
				p.hasAudio = false
			}
		}
	}
	go p.run()
	return p, nil
}

// Close stops the pipeline, waits for its goroutine and frees every FFmpeg
// object. It is safe to call more than once.
func (p *Pipeline) Close() error {
	p.closeOnce.Do(func() { close(p.stop) })
	<-p.done
	return nil
}

func (p *Pipeline) run() {
	defer close(p.done)
	defer p.release()
	if p.video.srcW > 0 && p.video.srcH > 0 {
		if err := p.openRungs(p.video.srcW, p.video.srcH); err != nil {
			p.log.Error("transcode setup failed; stream has no output", "err", err)
		}
		p.syncLadder()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-p.stop:
			return
		case <-p.pub.Done():
			return
		case now := <-tick.C:
			p.video.tick(p.name, now, now.Sub(last))
			p.src.tick(p.name, now.Sub(last))
			if !p.src.leaveAt.IsZero() {
				p.syncLadder() // no packets: the Leaving source rung still leaves
			}
			last = now
		case <-p.srcNotify:
			p.syncLadder()
		case req := <-p.chainReq:
			req.reply <- p.setChain(req.specs)
		case pkt := <-p.pub.Packets():
			switch pkt.Kind {
			case stream.KindVideo:
				p.handleVideo(pkt)
			case stream.KindAudio:
				p.handleAudio(pkt)
			}
		}
	}
}

// decodeError counts a packet the decoder refused and logs at a limited rate.
func (p *Pipeline) decodeError(kind stream.Kind, err error) {
	metrics.DecodeErrors.WithLabelValues(p.name).Inc()
	if n, ok := p.decErrs.allow(time.Now()); ok {
		p.log.Warn("decode error", "kind", kind, "err", err, "since_last_log", n)
	}
}

func (p *Pipeline) release() {
	p.src.attach(nil, p.name)
	if p.video != nil {
		for _, e := range p.video.rungs {
			for _, t := range []*rungEncoder{e, e.vp8} {
				if t != nil && t.feed != nil {
					t.feed.SetKeyframeRequester(nil)
				}
			}
			e.close()
			metrics.DeleteRung(p.name, e.rung.Name)
		}
		p.video.rungs = nil
		p.video.dec.close()
	}
	p.mut.close()
	p.audioDec.close()
	p.audioEnc.close()
	p.audioDec, p.audioEnc = nil, nil
}
