package webrtc

import (
	"errors"
	"fmt"
	"time"

	"github.com/pion/rtcp"
	pion "github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// Loop timings.
const (
	tickInterval     = 100 * time.Millisecond
	noKeyframeRepeat = time.Second
	maxPending       = 1024 // packets held before the publication exists
)

// loop is the state the run goroutine owns.
type loop struct {
	video, audio *trackState
	firstTrackAt time.Time
	connectedAt  time.Time
	pub          *stream.Publication
	pending      []*stream.Packet
	plis         pliLimiter
	lastStartPLI time.Time
	gotKeyframe  bool
	audioLate    bool // audio arrived after the stream went live without it
	keyWait      keyWait
}

// run is the Publisher's one owner of media state.
func (p *Publisher) run() {
	l := &loop{plis: pliLimiter{interval: pliInterval}}
	err := p.loop(l)
	p.shutdown(l, err)
}

func (p *Publisher) loop(l *loop) error {
	if !p.want.Video {
		return fmt.Errorf("%w: the offer announced no video", stream.ErrNoVideo)
	}
	started := time.Now()
	ticker := time.NewTicker(tickInterval)
	defer ticker.Stop()
	jitterTimer := time.NewTimer(time.Hour)
	defer jitterTimer.Stop()
	for {
		select {
		case <-p.closeCh:
			return ErrClosed
		case <-p.kickCh:
			return ErrKicked
		case t := <-p.ended:
			if t == l.video {
				return fmt.Errorf("%w: %w", ErrTrackEnded, t.err)
			}
			p.log.Info("audio track ended", "err", t.err)
		case in := <-p.in:
			if in.pkt == nil {
				// The track's arrival comes through the same queue
				// as its packets, so it is never behind them.
				if err := p.trackArrived(l, in.t, time.Now()); err != nil {
					return err
				}
				break
			}
			p.packetIn(l, in)
		case sr := <-p.srs:
			sr.t.clock.senderReport(sr.ntp, sr.rtp)
		case <-p.keyReq:
			p.sendPLI(l, pliRequest, time.Now())
		case now := <-jitterTimer.C:
			for _, t := range []*trackState{l.video, l.audio} {
				if t != nil {
					p.drain(l, t, now)
				}
			}
		case now := <-ticker.C:
			if err := p.tick(l, now, started); err != nil {
				return err
			}
		}
		if err := p.maybePublish(l, time.Now()); err != nil {
			return err
		}
		resetJitterTimer(jitterTimer, l)
	}
}

// resetJitterTimer arms the timer for the earliest hole a jitter buffer
// waits on.
func resetJitterTimer(timer *time.Timer, l *loop) {
	var next time.Time
	for _, t := range []*trackState{l.video, l.audio} {
		if t == nil {
			continue
		}
		if d, ok := t.jb.deadline(); ok && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	timer.Stop()
	if next.IsZero() {
		return
	}
	timer.Reset(max(time.Until(next), time.Millisecond))
}

func (p *Publisher) trackArrived(l *loop, t *trackState, now time.Time) error {
	if l.firstTrackAt.IsZero() {
		l.firstTrackAt = now
	}
	p.log.Info("track arrived", "kind", t.kind.String(), "codec", string(t.codec), "ssrc", t.ssrc)
	switch t.kind {
	case stream.KindVideo:
		l.video = t
		l.lastStartPLI = now
		p.sendPLI(l, pliStart, now)
	case stream.KindAudio:
		l.audio = t
		if l.pub != nil {
			l.audioLate = true
			p.log.Warn("audio track arrived after the stream went live without it: audio dropped", "track_wait", p.cfg.TrackWait)
		}
	}
	return nil
}

// tick runs the timeouts and the delayed PLIs.
func (p *Publisher) tick(l *loop, now, started time.Time) error {
	switch p.pc.ConnectionState() {
	case pion.PeerConnectionStateConnected:
		if l.connectedAt.IsZero() {
			l.connectedAt = now
		}
	case pion.PeerConnectionStateFailed, pion.PeerConnectionStateClosed:
		return fmt.Errorf("%w: %s", ErrConnectionEnded, p.pc.ConnectionState())
	}
	if l.video == nil {
		from := l.connectedAt
		if from.IsZero() {
			// Never connected: signaling reaps that, but do not wait forever.
			from = started.Add(p.cfg.StartTimeout)
		}
		if now.Sub(from) >= p.cfg.StartTimeout {
			return fmt.Errorf("%w (%v)", ErrStartTimeout, p.cfg.StartTimeout)
		}
		return nil
	}
	if !l.gotKeyframe && now.Sub(l.lastStartPLI) >= noKeyframeRepeat {
		l.lastStartPLI = now
		p.sendPLI(l, pliNoKeyframe, now)
	}
	if r := l.plis.due(now); r != "" {
		p.writePLI(l, r)
	}
	p.tickKeyWait(l, now)
	return nil
}

// maybePublish goes live once the video track and its first keyframe are
// in, with audio when the offer announced it; after TrackWait it goes live
// with what it has.
func (p *Publisher) maybePublish(l *loop, now time.Time) error {
	if l.pub != nil || l.video == nil {
		return nil
	}
	waited := now.Sub(l.firstTrackAt) >= p.cfg.TrackWait
	if p.want.Audio && l.audio == nil && !waited {
		return nil
	}
	// The first keyframe's SPS gives the picture size; the pipeline would
	// wait for it anyway.
	if !l.gotKeyframe && !waited {
		return nil
	}
	vt := stream.Track{Kind: stream.KindVideo, Codec: l.video.codec}
	if l.video.h264 != nil {
		vt.Width, vt.Height, vt.FrameRate = l.video.h264.videoSize()
	}
	tracks := []stream.Track{vt}
	if l.audio != nil {
		tracks = append(tracks, stream.Track{Kind: stream.KindAudio, Codec: stream.CodecOpus, SampleRate: 48000, Channels: 2})
	} else if p.want.Audio {
		p.log.Warn("going live without the audio track the offer announced", "track_wait", p.cfg.TrackWait)
	}
	pub, err := p.hub.Publish(p.name, "whip", tracks, p.onKick)
	if err != nil {
		metrics.IngestRejected.WithLabelValues("whip", "publish").Inc()
		return fmt.Errorf("publish %q: %w", p.name, err)
	}
	l.pub = pub
	pub.SetKeyframeRequester(p.requestKeyframe)
	p.log.Info("publishing", "video", string(vt.Codec), "width", vt.Width, "height", vt.Height, "audio", l.audio != nil)
	for _, pkt := range l.pending {
		p.write(l, pkt)
	}
	l.pending = nil
	return nil
}

// sendPLI asks the publisher for a keyframe, at most once per pliInterval.
func (p *Publisher) sendPLI(l *loop, reason string, now time.Time) {
	if l.video == nil {
		return
	}
	if r := l.plis.ask(reason, now); r != "" {
		p.writePLI(l, r)
	}
}

func (p *Publisher) writePLI(l *loop, reason string) {
	err := p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: l.video.ssrc}})
	if err != nil {
		p.log.Debug("PLI not sent", "reason", reason, "err", err)
		return
	}
	metrics.WHIPPLIsSent.WithLabelValues(reason).Inc()
}

// shutdown stops the readers, ends the publication and closes done.
func (p *Publisher) shutdown(l *loop, err error) {
	p.mu.Lock()
	p.stopped = true
	tracks := append([]*trackState(nil), p.tracks...)
	p.mu.Unlock()
	close(p.stopping)
	now := time.Now()
	for _, t := range tracks {
		// Unblock the readers; the PeerConnection stays signaling's.
		_ = t.remote.SetReadDeadline(now)
		_ = t.receiver.SetReadDeadline(now)
	}
	p.readers.Wait()
	if !l.keyWait.since.IsZero() {
		p.reportKeyWait(l, 0)
	}
	if l.pub != nil {
		l.pub.SetKeyframeRequester(nil)
		l.pub.Close()
	}
	switch {
	case errors.Is(err, ErrClosed), errors.Is(err, ErrKicked):
		p.log.Info("publisher ended", "reason", err)
	default:
		p.log.Warn("publisher ended", "err", err)
	}
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	close(p.done)
}
