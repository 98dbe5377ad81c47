package signaling

import (
	"context"
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
func (s *Server) watchConsent(ctx context.Context, kind string, pc *webrtc.PeerConnection, local func() uint64, end func()) {
	// Polled every `every`, the last sign of life is seen up to one poll
	// late and its absence one more: ending at limit ends the session
	// within timeout of the peer's last packet.
	timeout := s.cfg.ConsentTimeout
	every := min(max(timeout/30, 20*time.Millisecond), time.Second)
	limit := timeout - 2*every
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	var last, lastLocal uint64
	fresh := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			// pion's stats cost a round trip through its agent's
			// goroutine: at hundreds of viewers, a tenth of the wakeups.
			if local != nil {
				if n := local(); n != lastLocal {
					lastLocal, fresh = n, now
					continue
				}
			}
			if n, ok := heard(pc); ok && n != last {
				last, fresh = n, now
			}
			if now.Sub(fresh) < limit {
				continue
			}
			if pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
				return
			}
			metrics.SessionsExpired.WithLabelValues(kind, expiredConsent).Inc()
			end()
			return
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
