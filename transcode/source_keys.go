package transcode

import (
	"sync"
	"time"
)

// keyLimiter passes keyframe requests on to the publisher at most once per
// interval; a request within the interval waits for poll, and a keyframe
// from the publisher answers it. request is safe from any goroutine.
type keyLimiter struct {
	every time.Duration
	ask   func() // must not block
	now   func() time.Time

	mu      sync.Mutex
	last    time.Time // when ask was last called
	pending bool
}

func newKeyLimiter(every time.Duration, ask func()) *keyLimiter {
	return &keyLimiter{every: every, ask: ask, now: time.Now}
}

// request asks for a keyframe now, or as soon as the interval allows.
func (k *keyLimiter) request() {
	k.mu.Lock()
	if k.pending {
		k.mu.Unlock()
		return
	}
	now := k.now()
	if !k.last.IsZero() && now.Sub(k.last) < k.every {
		k.pending = true
		k.mu.Unlock()
		return
	}
	k.last = now
	k.mu.Unlock()
	k.ask()
}

// keyframe notes that the publisher sent one: a waiting request is answered.
func (k *keyLimiter) keyframe() {
	k.mu.Lock()
	k.pending = false
	k.mu.Unlock()
}

// poll sends a waiting request once the interval has passed.
func (k *keyLimiter) poll() {
	k.mu.Lock()
	now := k.now()
	if !k.pending || now.Sub(k.last) < k.every {
		k.mu.Unlock()
		return
	}
	k.pending = false
	k.last = now
	k.mu.Unlock()
	k.ask()
}
