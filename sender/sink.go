package sender

import (
	"time"

	"github.com/mutstream/mutstream/stream"
)

// The sinks send a viewer's video and audio in the goroutine that writes
// each packet to the feed (stream.Sink), when the loop is not busy: a
// viewer's loop then wakes for its controller, its feedback and its
// timers, not for every packet, which at hundreds of viewers costs more
// than the sending itself. Only a viewer whose packets go out through a
// direct writer has sinks: its writes never wait on anything but a short
// lock. What a sink cannot take now (the loop holds its state) is queued
// and sent by the loop, in order; a switch of rung happens in the loop,
// at the new rung's first packet. The viewer's transport-wide feedback is
// looked at where it is read too (feedbackSink).

// subscribe reads f, through a sink when the loop has them.
func (l *loop) subscribe(f *stream.Feed) *stream.Reader {
	r := f.Subscribe(l.q)
	l.attach(r)
	return r
}

// attach gives r, the reader of the video being sent or of the audio, its
// sink.
func (l *loop) attach(r *stream.Reader) {
	if !l.sinks {
		return
	}
	r.SetSink(func(p *stream.Packet) bool { return l.sink(r, p) })
}

// sink sends p, read from r, unless the loop holds its state.
func (l *loop) sink(r *stream.Reader, p *stream.Packet) bool {
	if !l.mu.TryLock() {
		return false
	}
	defer l.mu.Unlock()
	switch {
	case l.closed || l.stopped:
	case r == l.audio:
		l.onAudio(p)
	case r != l.cur:
		// A reader switched away from: the loop has closed it.
	case !l.onVideo(p):
		l.stopped = true
		l.poke()
	case l.padding() != l.padOn:
		l.poke() // paced packets wait, or a hold began: the pad tick must run
	}
	return true
}

// feedbackSink does what the loop does when feedback came in, in the
// goroutine that read it: it cuts a failing probe short. It leaves the
// feedback to the loop (false) when the loop holds its state, or when the
// link needs a decision now, which may switch rungs and tell the player.
func (l *loop) feedbackSink() bool {
	if !l.mu.TryLock() {
		return false
	}
	defer l.mu.Unlock()
	if l.closed || l.stopped {
		return true
	}
	now := time.Now()
	l.ad.checkProbe(now)
	if l.ad.urgent(now, l.v.cfg.DelayDown) {
		return false
	}
	if l.padding() != l.padOn {
		l.poke() // the probe was cut: the pad tick may stop
	}
	return true
}

// poke wakes the loop.
func (l *loop) poke() {
	select {
	case l.poked <- struct{}{}:
	default:
	}
}
