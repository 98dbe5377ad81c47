package webrtc

import (
	"time"

	"github.com/mutstream/mutstream/metrics"
)

// keyAnswerTime is how long a publisher has to answer a PLI with a
// keyframe. Past it (FFmpeg's muxer ignores PLI) the PLI is repeated this
// often, and the wait is reported; viewers stay on the last good frame,
// because the assembler passes nothing on until a keyframe.
const keyAnswerTime = time.Second

// pliNoAnswer is the PLI reason for a repeat after keyAnswerTime.
const pliNoAnswer = "no_answer"

// keyWait is the loop's record of a keyframe it asked for after a loss.
type keyWait struct {
	since   time.Time // zero when none is awaited
	lastPLI time.Time
	warned  bool
}

// lossKeyWait starts a wait for the keyframe just asked for, unless one is
// on already.
func (p *Publisher) lossKeyWait(l *loop, now time.Time) {
	if l.keyWait.since.IsZero() {
		l.keyWait = keyWait{since: now, lastPLI: now}
	}
}

// keyframeIn ends the wait, if any.
func (p *Publisher) keyframeIn(l *loop, now time.Time) {
	w := l.keyWait
	if w.since.IsZero() {
		return
	}
	l.keyWait = keyWait{}
	if w.warned {
		p.log.Info("keyframe arrived: viewers move on", "waited_ms", now.Sub(w.since).Milliseconds())
	}
	p.reportKeyWait(l, 0)
}

// tickKeyWait repeats the PLI of a wait that the publisher has not
// answered within keyAnswerTime, and reports the wait.
func (p *Publisher) tickKeyWait(l *loop, now time.Time) {
	w := &l.keyWait
	if w.since.IsZero() {
		return
	}
	waited := now.Sub(w.since)
	p.reportKeyWait(l, waited)
	if waited < keyAnswerTime || now.Sub(w.lastPLI) < keyAnswerTime {
		return
	}
	if !w.warned {
		w.warned = true
		p.log.Warn("publisher has not answered a PLI within 1s: viewers hold the last good frame until its next keyframe (use a keyframe interval of 1-2 s)")
	}
	w.lastPLI = now
	p.sendPLI(l, pliNoAnswer, now)
}

func (p *Publisher) reportKeyWait(l *loop, d time.Duration) {
	metrics.KeyframeWaitMs.WithLabelValues(p.name).Set(float64(d.Milliseconds()))
	if l.pub != nil {
		l.pub.SetKeyframeWait(d)
	}
}
