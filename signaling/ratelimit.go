package signaling

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/mutstream/mutstream/auth"
)

// maxLimiters bounds each per-address table; the idle ones go first.
const maxLimiters = 10000

// limiter holds the per-address token buckets: one table for viewers
// (WHEP), one for publishers (WHIP), so a room of viewers behind one NAT
// neither locks itself out nor locks out its publisher.
type limiter struct {
	viewers, publishers *buckets
}

func newLimiter(cfg RateLimit) *limiter {
	v, p := cfg.Buckets()
	return &limiter{viewers: newBuckets(v), publishers: newBuckets(p)}
}

// allow reports whether the client at addr (as the router resolved it;
// keyed by auth.ClientKey) may make a request of kind ("whip" or
// "whep") now, and if not, how long it should wait.
func (l *limiter) allow(kind, addr string, now time.Time) (bool, time.Duration) {
	b := l.viewers
	if kind == "whip" {
		b = l.publishers
	}
	return b.allow(auth.ClientKey(addr), now)
}

// buckets is a token bucket per client key.
type buckets struct {
	cfg Bucket
	mu  sync.Mutex
	m   map[string]*addrLimit
}

type addrLimit struct {
	l    *rate.Limiter
	seen time.Time
}

func newBuckets(cfg Bucket) *buckets {
	return &buckets{cfg: cfg, m: map[string]*addrLimit{}}
}

func (b *buckets) allow(key string, now time.Time) (bool, time.Duration) {
	if b.cfg.PerSecond <= 0 {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.m[key]
	if !ok {
		if len(b.m) >= maxLimiters {
			b.sweep(now)
		}
		a = &addrLimit{l: rate.NewLimiter(rate.Limit(b.cfg.PerSecond), b.cfg.Burst)}
		b.m[key] = a
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
func (b *buckets) sweep(now time.Time) {
	for k, a := range b.m {
		if now.Sub(a.seen) > time.Minute {
			delete(b.m, k)
		}
	}
	for k := range b.m {
		if len(b.m) < maxLimiters/2 {
			break
		}
		delete(b.m, k)
	}
}
