package signaling

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiters bounds the per-address table; the idle ones go first.
const maxLimiters = 10000

// limiter is a token bucket per client address.
type limiter struct {
	cfg RateLimit
	mu  sync.Mutex
	m   map[string]*addrLimit
}

type addrLimit struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(cfg RateLimit) *limiter {
	return &limiter{cfg: cfg, m: map[string]*addrLimit{}}
}

// allow reports whether addr may make a request now, and if not, how long
// it should wait.
func (l *limiter) allow(addr string, now time.Time) (bool, time.Duration) {
	if l.cfg.PerSecond <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.m[addr]
	if !ok {
		if len(l.m) >= maxLimiters {
			l.sweep(now)
		}
		a = &addrLimit{l: rate.NewLimiter(rate.Limit(l.cfg.PerSecond), l.cfg.Burst)}
		l.m[addr] = a
	}
	a.seen = now
	r := a.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops addresses idle for a minute, or half the table if none are.
func (l *limiter) sweep(now time.Time) {
	for k, a := range l.m {
		if now.Sub(a.seen) > time.Minute {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) < maxLimiters/2 {
			break
		}
		delete(l.m, k)
	}
}
