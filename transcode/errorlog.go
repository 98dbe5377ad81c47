package transcode

import "time"

// errorLog limits how often a repeated error is logged.
type errorLog struct {
	every      time.Duration
	last       time.Time
	suppressed int
}

// allow reports whether to log now, and how many were suppressed since.
func (l *errorLog) allow(now time.Time) (int, bool) {
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return n, true
}
