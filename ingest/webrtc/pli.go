package webrtc

import "time"

// pliInterval is the least time between two PLIs to a publisher.
const pliInterval = 500 * time.Millisecond

// PLI reasons, as counted in WHIPPLIsSent.
const (
	pliStart      = "start"       // the video track arrived
	pliNoKeyframe = "no_keyframe" // still no keyframe, asked again every second
	pliRequest    = "request"     // the pipeline asked
)

// pliLimiter spaces picture loss indications (RFC 4585 6.3.1) at least
// interval apart; a request inside the interval is kept and sent when it
// ends. Time is passed in.
type pliLimiter struct {
	interval time.Duration
	last     time.Time
	pending  string
}

// ask returns reason when a PLI may go now, or "" when it must wait (it is
// then remembered for due).
func (l *pliLimiter) ask(reason string, now time.Time) string {
	if !l.last.IsZero() && now.Sub(l.last) < l.interval {
		if l.pending == "" {
			l.pending = reason
		}
		return ""
	}
	l.last, l.pending = now, ""
	return reason
}

// due returns the reason of a waiting request once it may go, else "".
func (l *pliLimiter) due(now time.Time) string {
	if l.pending == "" || now.Sub(l.last) < l.interval {
		return ""
	}
	r := l.pending
	l.last, l.pending = now, ""
	return r
}

// cancel forgets a waiting request: a keyframe came anyway.
func (l *pliLimiter) cancel() { l.pending = "" }
