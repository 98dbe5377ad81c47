package sender

// The link meter's gate on retransmissions: a budget from the estimate,
// nothing from before a rung switch, nothing behind a deep queue, and a
// keyframe asked for when resending does not help.

import (
	"time"

	"github.com/mutstream/mutstream/metrics"
)

// admitResend says whether a NACKed packet (RTP sequence number seq, size
// bytes on the wire) goes out again, and asks for a keyframe where resending
// does not help.
func (m *linkMeter) admitResend(seq uint16, padding bool, size int, now time.Time) bool {
	if reason := m.gateResend(seq, size, now); reason != "" {
		metrics.ViewerResendsDropped.WithLabelValues(reason).Inc()
		if reason != "stale" && m.keyframeDue(now) {
			// The receiver cannot complete that frame now: a keyframe
			// sooner than its PLI would ask.
			m.onResendDropped()
		}
		return false
	}
	// A packet resent too often is not getting through. Lost padding,
	// even resent, may have broken the browser's chain of sequence
	// numbers for good: it bridges a hole with at most the latest 100
	// padding packets, a few tens of milliseconds of a probe. Either way
	// the picture waits for a keyframe: ask for one now rather than at the
	// next GOP.
	if (padding || m.resentAgain(seq)) && m.keyframeDue(now) {
		m.onResendDropped()
	}
	return true
}

// resendGiveUp is how many times a packet is resent before a keyframe is
// asked for as well: on a short round trip the browser stops asking for a
// packet after a few tries within a hundred milliseconds, and then waits
// for the next scheduled keyframe (seconds) with the picture frozen.
const resendGiveUp = 3

// resentAgain records a resend of seq and says whether it is the
// resendGiveUp-th.
func (m *linkMeter) resentAgain(seq uint16) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &m.resent[seq%uint16(len(m.resent))]
	if r.seq != seq || r.n == 0 {
		r.seq, r.n = seq, 0
	}
	r.n++
	return r.n == resendGiveUp
}

// resendKeyframeGap is the least time between two keyframes asked for on
// dropped retransmissions.
const resendKeyframeGap = 250 * time.Millisecond

// keyframeDue says whether a dropped retransmission may ask for a keyframe
// now, and records that it does.
func (m *linkMeter) keyframeDue(now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.onResendDropped == nil || now.Sub(m.lastKeyframeAsk) < resendKeyframeGap {
		return false
	}
	m.lastKeyframeAsk = now
	return true
}

// Retransmissions get at most Resend.Share of the estimate (set by the
// viewer) but at least resendMinRate, with a bucket of resendBurst of that
// rate but at least resendMinBucket bytes; none is sent behind more than
// Resend.LateQueue of queueing delay, where it would come too late to help
// and only deepen the queue (a keyframe is asked for instead).
const (
	resendMinRate   = 64_000
	resendBurst     = 250 * time.Millisecond
	resendMinBucket = 16_000
)

// setResendBudget sets the rate retransmissions may take from the
// estimate in bps.
func (m *linkMeter) setResendBudget(estimate int) {
	m.mu.Lock()
	m.resendRate = max(int(float64(estimate)*m.resend.Share), resendMinRate)
	m.mu.Unlock()
}

// dropResendsBefore makes retransmissions of packets before seq useless:
// the viewer switched rungs at seq, a keyframe.
func (m *linkMeter) dropResendsBefore(seq uint16) {
	m.mu.Lock()
	m.cutoff, m.haveCutoff = seq, true
	m.mu.Unlock()
}

// gateResend says why a retransmission of seq is not to be sent, "" when
// it is.
func (m *linkMeter) gateResend(seq uint16, size int, now time.Time) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.haveCutoff && int16(seq-m.cutoff) < 0 {
		return "stale"
	}
	if time.Duration(m.lastExcess)*time.Microsecond > m.resend.LateQueue {
		return "late"
	}
	rate := m.resendRate
	if rate == 0 {
		rate = resendMinRate
	}
	depth := max(float64(rate)/8*resendBurst.Seconds(), resendMinBucket)
	if !m.resendAt.IsZero() {
		m.resendTokens += float64(rate) / 8 * now.Sub(m.resendAt).Seconds()
	} else {
		m.resendTokens = depth
	}
	m.resendTokens = min(m.resendTokens, depth)
	m.resendAt = now
	if m.resendTokens < float64(size) {
		return "budget"
	}
	m.resendTokens -= float64(size)
	return ""
}
