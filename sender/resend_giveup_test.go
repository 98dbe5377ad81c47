package sender

import (
	"testing"
)

// TestResendGiveUpAsksKeyframe: a packet resent resendGiveUp times and
// asked for again is not getting through; a keyframe is asked for, once.
// Lost padding asks for one at its first resend.
func TestResendGiveUpAsksKeyframe(t *testing.T) {
	m := newLinkMeter(DefaultConfig().Resend)
	m.setResendBudget(10_000_000)
	asked := 0
	m.onResendDropped = func() { asked++ }
	// What the send path hands the meter for each resend.
	now := m.start
	write := func(seq uint16) { m.admitResend(seq, false, 112, now) }
	// Two different packets resent once each, one of them twice: no
	// keyframe yet.
	write(5)
	write(6)
	write(5)
	if asked != 0 {
		t.Fatalf("a keyframe asked for after two resends of a packet")
	}
	write(5)
	if asked != 1 {
		t.Fatalf("%d keyframes asked for after %d resends of one packet, want 1", asked, resendGiveUp)
	}
	write(5)
	write(6)
	write(6)
	if asked != 1 {
		t.Fatalf("%d keyframes asked for within resendKeyframeGap, want 1", asked)
	}
	// Lost padding asks for a keyframe at its first resend (once the
	// gap since the last ask is over).
	m.mu.Lock()
	m.lastKeyframeAsk = m.lastKeyframeAsk.Add(-resendKeyframeGap)
	m.mu.Unlock()
	m.admitResend(21, true, 13, now)
	if asked != 2 {
		t.Fatalf("%d keyframes asked for after lost padding was resent, want 2", asked)
	}
}
