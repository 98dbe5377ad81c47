package webrtc

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// sendFrame packetizes one H.264 access unit as a sender would: STAP-A for
// the small NAL units, FU-A for the big ones, marker on the last packet.
func sendFrame(seq *uint16, ts uint32, nalus ...[]byte) []*rtp.Packet {
	var payloads [][]byte
	var small [][]byte
	flush := func() {
		switch len(small) {
		case 0:
		case 1:
			payloads = append(payloads, small[0])
		default:
			payloads = append(payloads, stapA(small...))
		}
		small = nil
	}
	for _, n := range nalus {
		if len(n) > 200 {
			flush()
			payloads = append(payloads, fuA(n, 200)...)
			continue
		}
		small = append(small, n)
	}
	flush()
	var out []*rtp.Packet
	for i, p := range payloads {
		out = append(out, &rtp.Packet{
			Header:  rtp.Header{SequenceNumber: *seq, Timestamp: ts, Marker: i == len(payloads)-1},
			Payload: p,
		})
		*seq++
	}
	return out
}

func bigSlice(typ byte, n int) []byte {
	return append([]byte{0x60 | typ, 0x88}, bytes.Repeat([]byte{typ}, n)...)
}

// trackHarness runs jitter buffer and assembler together, as the loop does.
type trackHarness struct {
	jb  *jitterBuffer
	asm *assembler
}

func newTrackHarness() *trackHarness {
	return &trackHarness{jb: newJitterBuffer(150 * time.Millisecond), asm: newAssembler(&h264Frame{})}
}

func (h *trackHarness) give(items []jitterItem) {
	for _, it := range items {
		if it.pkt == nil {
			h.asm.loss()
			continue
		}
		h.asm.packet(it.pkt.Timestamp, it.pkt.Marker, it.pkt.Payload)
	}
}

func (h *trackHarness) push(p *rtp.Packet, at time.Time) {
	h.jb.push(p, at)
	h.give(h.jb.pop(at))
}

func TestAssemblerWholeFrames(t *testing.T) {
	h := newTrackHarness()
	var seq uint16 = 65530 // wraps inside the test
	idr := bigSlice(naluIDR, 1000)
	var pkts []*rtp.Packet
	pkts = append(pkts, sendFrame(&seq, 1000, testP)...) // before any keyframe: dropped
	pkts = append(pkts, sendFrame(&seq, 4000, testSPS, testPPS, idr)...)
	pkts = append(pkts, sendFrame(&seq, 7000, bigSlice(naluNonIDR, 500))...)
	// Swap two packets of the IDR: the jitter buffer puts them back.
	pkts[2], pkts[3] = pkts[3], pkts[2]
	for _, p := range pkts {
		h.push(p, t0)
	}
	frames, drops := h.asm.take()
	if len(frames) != 2 || !frames[0].key || frames[1].key {
		t.Fatalf("frames %d, drops %v", len(frames), drops)
	}
	if !bytes.Equal(frames[0].data, annexB(testSPS, testPPS, idr)) {
		t.Fatal("IDR frame differs")
	}
	if len(drops) != 1 || drops[0] != dropAwaitKeyframe {
		t.Fatalf("drops %v", drops)
	}
	if h.asm.wantKey != "" {
		t.Fatalf("wantKey %q without loss", h.asm.wantKey)
	}
}

func TestAssemblerGapGivesUpAndAsksKeyframe(t *testing.T) {
	h := newTrackHarness()
	var seq uint16
	var pkts []*rtp.Packet
	pkts = append(pkts, sendFrame(&seq, 0, testSPS, testPPS, bigSlice(naluIDR, 600))...)
	lostFrame := sendFrame(&seq, 3000, bigSlice(naluNonIDR, 600))
	pkts = append(pkts, lostFrame[0], lostFrame[2]) // lostFrame[1] never comes
	pkts = append(pkts, sendFrame(&seq, 6000, bigSlice(naluNonIDR, 300))...)
	keyAgain := sendFrame(&seq, 9000, testSPS, testPPS, bigSlice(naluIDR, 600))
	for _, p := range pkts {
		h.push(p, t0)
	}
	frames, _ := h.asm.take()
	if len(frames) != 1 {
		t.Fatalf("%d frames before giving up, want the first IDR only", len(frames))
	}
	// Waiting: nothing yet at 149 ms.
	h.give(h.jb.pop(t0.Add(149 * time.Millisecond)))
	if f, d := h.asm.take(); len(f)+len(d) != 0 || h.asm.wantKey != "" {
		t.Fatalf("gave up early: %d frames, drops %v", len(f), d)
	}
	h.give(h.jb.pop(t0.Add(150 * time.Millisecond)))
	frames, drops := h.asm.take()
	if len(frames) != 0 {
		t.Fatalf("%d frames after loss, want none before a keyframe", len(frames))
	}
	if len(drops) != 2 || drops[0] != dropIncomplete || drops[1] != dropAwaitKeyframe {
		t.Fatalf("drops %v", drops)
	}
	if h.asm.wantKey != "loss" {
		t.Fatalf("wantKey %q, want a PLI for loss", h.asm.wantKey)
	}
	for _, p := range keyAgain {
		h.push(p, t0.Add(200*time.Millisecond))
	}
	if frames, _ := h.asm.take(); len(frames) != 1 || !frames[0].key {
		t.Fatalf("keyframe after loss: %d frames", len(frames))
	}
}

func TestAssemblerLossBeforeFrameStart(t *testing.T) {
	// The first packets of an IDR are lost: what is left must not pass as
	// a frame, even though it ends with a marker.
	h := newTrackHarness()
	var seq uint16
	for _, p := range sendFrame(&seq, 0, testSPS, testPPS, bigSlice(naluIDR, 600)) {
		h.push(p, t0)
	}
	idr := sendFrame(&seq, 3000, testSPS, testPPS, bigSlice(naluIDR, 600))
	for _, p := range idr[2:] {
		h.push(p, t0)
	}
	h.give(h.jb.pop(t0.Add(time.Second)))
	frames, drops := h.asm.take()
	if len(frames) != 1 || len(drops) != 1 || drops[0] != dropIncomplete {
		t.Fatalf("%d frames, drops %v", len(frames), drops)
	}
}

func TestAssemblerLossBetweenFrames(t *testing.T) {
	// A whole frame is lost; the next one starts cleanly and is an IDR.
	h := newTrackHarness()
	var seq uint16
	for _, p := range sendFrame(&seq, 0, testSPS, testPPS, testIDR) {
		h.push(p, t0)
	}
	_ = sendFrame(&seq, 3000, testP) // lost
	for _, p := range sendFrame(&seq, 6000, testSPS, testPPS, testIDR) {
		h.push(p, t0)
	}
	h.give(h.jb.pop(t0.Add(time.Second)))
	frames, drops := h.asm.take()
	if len(frames) != 2 || !frames[1].key || len(drops) != 0 {
		t.Fatalf("%d frames, drops %v", len(frames), drops)
	}
}

func TestPLILimiter(t *testing.T) {
	l := pliLimiter{interval: 500 * time.Millisecond}
	if r := l.ask("start", t0); r != "start" {
		t.Fatalf("first: %q", r)
	}
	if r := l.ask("loss", t0.Add(100*time.Millisecond)); r != "" {
		t.Fatalf("inside the interval: %q", r)
	}
	if r := l.ask("request", t0.Add(200*time.Millisecond)); r != "" {
		t.Fatalf("inside the interval: %q", r)
	}
	if r := l.due(t0.Add(499 * time.Millisecond)); r != "" {
		t.Fatalf("due early: %q", r)
	}
	if r := l.due(t0.Add(500 * time.Millisecond)); r != "loss" {
		t.Fatalf("due: %q", r)
	}
	if r := l.due(t0.Add(2 * time.Second)); r != "" {
		t.Fatalf("due twice: %q", r)
	}
	l.ask("x", t0.Add(2*time.Second+100*time.Millisecond))
	l.ask("y", t0.Add(2*time.Second+200*time.Millisecond))
	l.cancel()
	if r := l.due(t0.Add(5 * time.Second)); r != "" {
		t.Fatalf("cancelled but due: %q", r)
	}
}

func TestTrackClock(t *testing.T) {
	v := trackClock{rate: 90000}
	base := uint32(4294967000)
	v.start(base, t0)
	u := v.unwrap(base + 3000) // wraps
	if got := v.rel(u); got != 3000*time.Second/90000 {
		t.Fatalf("rel after wrap: %v", got)
	}
	if got := v.rel(v.unwrap(base + 1500)); got != 1500*time.Second/90000 {
		t.Fatalf("rel stepping back: %v", got)
	}
	v.offset, v.fixed = -v.rel(u), true

	a := trackClock{rate: 48000}
	a.start(1000, t0.Add(40*time.Millisecond))
	if how := a.alignTo(&v); how != "arrival" || a.offset != 40*time.Millisecond+v.offset {
		t.Fatalf("arrival: %s %v", how, a.offset)
	}
	// Sender reports: audio's first sample was taken 25 ms after video's.
	ntp := uint64(3900000000) << 32
	v.senderReport(ntp, base+9000) // 100 ms after video's first timestamp
	a.senderReport(ntp, 1000+3600) // 75 ms after audio's first timestamp
	a.fixed = false
	if how := a.alignTo(&v); how != "sender_report" || a.offset != 25*time.Millisecond+v.offset {
		t.Fatalf("sender report: %s %v", how, a.offset)
	}
	if got := ticksToDuration(90000*3600*30, 90000); got != 30*time.Hour {
		t.Fatalf("30 hours: %v", got)
	}
}
