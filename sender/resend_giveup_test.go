package sender

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// TestResendGiveUpAsksKeyframe: a packet resent resendGiveUp times and
// asked for again is not getting through; a keyframe is asked for, once.
func TestResendGiveUpAsksKeyframe(t *testing.T) {
	m := newLinkMeter(DefaultConfig().Resend)
	m.setResendBudget(10_000_000)
	asked := 0
	m.onResendDropped = func() { asked++ }
	info := &interceptor.StreamInfo{RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 5}}}
	w := m.BindLocalStream(info, interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, _ interceptor.Attributes) (int, error) {
		return h.MarshalSize() + len(p), nil
	}))
	write := func(seq uint16) {
		t.Helper()
		h := rtp.Header{Version: 2, SequenceNumber: seq}
		if err := h.SetExtension(5, []byte{0, byte(seq)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(&h, make([]byte, 100), nil); err != nil {
			t.Fatal(err)
		}
	}
	for seq := uint16(1); seq <= 20; seq++ {
		write(seq)
	}
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
	h := rtp.Header{Version: 2, SequenceNumber: 21, Padding: true, PaddingSize: 255}
	if err := h.SetExtension(5, []byte{0, 21}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(&h, nil, nil); err != nil {
		t.Fatal(err)
	}
	h.PaddingSize = 1
	if _, err := w.Write(&h, nil, nil); err != nil {
		t.Fatal(err)
	}
	if asked != 2 {
		t.Fatalf("%d keyframes asked for after lost padding was resent, want 2", asked)
	}
}
