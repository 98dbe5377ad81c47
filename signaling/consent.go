package signaling

import (
	"context"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/metrics"
)

// Reasons a silent session was ended, as counted in SessionsExpired.
const (
	expiredICEFailed = "ice_failed"
	expiredConsent   = "consent"
)

// watchConsent ends a session whose peer no longer consents to receive
// (RFC 7675): nothing from it (media, RTCP, STUN responses) on the selected
// candidate pair for consent_timeout, or no candidate pair at all that long
// after the start. local, when not nil, counts signs of life that pion's
// pair does not see (a direct viewer's RTCP, taken off the port): while
// it moves, pion's agent is not asked. pion ends a silent session itself after
// disconnected_timeout + failed_timeout; this bounds it whatever those are,
// and catches a peer that connected and never sent. It returns when ctx
// ends or after it has called end.
//
// The sessions are polled together, by the server's consent clock: a
// ticker per session woke hundreds of goroutines a second for nothing.
func (s *Server) watchConsent(ctx context.Context, kind string, pc *webrtc.PeerConnection, local func() uint64, end func()) {
	w := &consentWatch{pc: pc, local: local, fresh: time.Now(), expired: make(chan struct{})}
	s.consent.add(w, s.cfg.ConsentTimeout)
	defer s.consent.remove(w)
	select {
	case <-ctx.Done():
	case <-w.expired:
		if pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
			return
		}
		metrics.SessionsExpired.WithLabelValues(kind, expiredConsent).Inc()
		end()
	}
}

// consentWatch is one session's consent, as the clock keeps it.
type consentWatch struct {
	pc              *webrtc.PeerConnection
	local           func() uint64
	last, lastLocal uint64
	fresh           time.Time     // the latest sign of life seen
	expired         chan struct{} // closed by the clock
}

// poll looks for a sign of life at now; false when consent has expired,
// limit after the last one.
func (w *consentWatch) poll(now time.Time, limit time.Duration) bool {
	// pion's stats cost a round trip through its agent's goroutine: at
	// hundreds of viewers, a tenth of the wakeups.
	if w.local != nil {
		if n := w.local(); n != w.lastLocal {
			w.lastLocal, w.fresh = n, now
			return true
		}
	}
	if n, ok := heard(w.pc); ok && n != w.last {
		w.last, w.fresh = n, now
	}
	return now.Sub(w.fresh) < limit
}

// consentClock polls every session's consent from one goroutine, which
// runs while a session is watched.
type consentClock struct {
	mu      sync.Mutex
	watches map[*consentWatch]struct{}
	every   time.Duration
	limit   time.Duration
	running bool
	emptied chan struct{} // the last watch left: the goroutine ends now
	ended   chan struct{} // closed by the goroutine as it ends
	batch   []*consentWatch
}

// add watches w; timeout is consent_timeout.
func (c *consentClock) add(w *consentWatch, timeout time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watches == nil {
		c.watches = map[*consentWatch]struct{}{}
		c.emptied = make(chan struct{}, 1)
	}
	// Polled every `every`, the last sign of life is seen up to one poll
	// late and its absence one more: expiring at limit ends the session
	// within timeout of the peer's last packet.
	c.every = min(max(timeout/30, 20*time.Millisecond), time.Second)
	c.limit = timeout - 2*c.every
	c.watches[w] = struct{}{}
	if !c.running {
		c.running = true
		c.ended = make(chan struct{})
		go c.run(c.every, c.ended)
	}
}

// remove stops watching w.
func (c *consentClock) remove(w *consentWatch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.watches, w)
	if len(c.watches) == 0 && c.running {
		select {
		case c.emptied <- struct{}{}:
		default:
		}
	}
}

// wait returns once the clock's goroutine has ended: after the last
// session's watch ended.
func (c *consentClock) wait() {
	c.mu.Lock()
	ended := c.ended
	c.mu.Unlock()
	if ended != nil {
		<-ended
	}
}

func (c *consentClock) run(every time.Duration, ended chan struct{}) {
	defer close(ended)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-c.emptied:
		}
		c.mu.Lock()
		if len(c.watches) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.batch = c.batch[:0]
		for w := range c.watches {
			c.batch = append(c.batch, w)
		}
		limit := c.limit
		c.mu.Unlock()
		now := time.Now()
		for i, w := range c.batch {
			if !w.poll(now, limit) {
				c.mu.Lock()
				if _, ok := c.watches[w]; ok {
					delete(c.watches, w)
					close(w.expired)
				}
				c.mu.Unlock()
			}
			c.batch[i] = nil
		}
	}
}

// heard counts what the peer has sent on the selected candidate pair.
func heard(pc *webrtc.PeerConnection) (uint64, bool) {
	sctp := pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return 0, false
	}
	st, ok := sctp.Transport().ICETransport().GetSelectedCandidatePairStats()
	if !ok {
		return 0, false
	}
	return uint64(st.PacketsReceived) + uint64(st.ResponsesReceived), true
}

// countICEFailed counts a session that pion ended for ICE failure.
func countICEFailed(kind string) {
	metrics.SessionsExpired.WithLabelValues(kind, expiredICEFailed).Inc()
}
