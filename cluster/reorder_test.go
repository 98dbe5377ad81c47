package cluster

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// cut packetizes a frame with one of pion's payloaders, numbering the
// packets from *seq on and marking the last.
func cut(t *testing.T, pay rtp.Payloader, seq *uint16, ts uint32, frame []byte) []*rtp.Packet {
	t.Helper()
	var out []*rtp.Packet
	for _, p := range pay.Payload(1200, frame) {
		out = append(out, &rtp.Packet{Header: rtp.Header{SequenceNumber: *seq, Timestamp: ts}, Payload: p})
		*seq++
	}
	if len(out) == 0 {
		t.Fatal("the payloader gave no packet")
	}
	out[len(out)-1].Marker = true
	return out
}

// repaired moves packet i after the frame's last: a packet lost and sent
// again after a NACK, which pion hands over with its own number.
func repaired(pkts []*rtp.Packet, i int) []*rtp.Packet {
	out := append(append([]*rtp.Packet{}, pkts[:i]...), pkts[i+1:]...)
	return append(out, pkts[i])
}

func annexB(nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = append(append(b, 0, 0, 0, 1), n...)
	}
	return b
}

// TestAssemblerRepairedPackets: packets of the open frame that come out
// of order, a retransmission of its first, middle or last packet after
// the others, complete the frame with no keyframe request; a repair that
// comes after the next frame began is late, and that frame is lost.
func TestAssemblerRepairedPackets(t *testing.T) {
	a := newFrameAssembler(&h264Depacketizer{})
	pay := &codecs.H264Payloader{}
	var seq uint16 = 65520 // wraps within the test
	var ts uint32
	idrAU := annexB(sps, pps, idr)
	pAU := annexB(append([]byte{0x41, 0x9a}, bytes.Repeat([]byte{3}, 2500)...))
	check := func(what string, pkts []*rtp.Packet, want []byte, key bool) {
		t.Helper()
		f, k, asks := feedAll(a, pkts)
		if len(f) != 1 || asks != 0 || k[0] != key || !bytes.Equal(f[0], want) {
			t.Fatalf("%s: %d frames, %d keyframe requests, keys %v, equal %v", what, len(f), asks, k, len(f) == 1 && bytes.Equal(f[0], want))
		}
	}
	ts += 3000
	pk := cut(t, pay, &seq, ts, idrAU)
	if len(pk) < 4 {
		t.Fatalf("the IDR access unit is %d packets, want 4 or more", len(pk))
	}
	check("IDR, its second packet repaired", repaired(pk, 1), idrAU, true)
	for _, i := range []int{0, 1, 2} { // first, middle, last (marker) packet repaired
		ts += 3000
		pk = cut(t, pay, &seq, ts, pAU)
		if len(pk) != 3 {
			t.Fatalf("the P access unit is %d packets, want 3", len(pk))
		}
		check("P-frame, one packet repaired", repaired(pk, i), pAU, false)
	}
	ts += 3000
	pk = cut(t, pay, &seq, ts, pAU)
	check("P-frame in reverse order", []*rtp.Packet{pk[2], pk[1], pk[0]}, pAU, false)
	// A duplicate of a packet of a done frame is late and changes nothing.
	if f, _, _, ask := a.push(pk[1]); f != nil || ask {
		t.Fatal("a duplicate after the frame made a frame or asked for a keyframe")
	}

	// The repair comes after the next frame began: too late.
	ts += 3000
	lossy := cut(t, pay, &seq, ts, pAU)
	ts += 3000
	after := cut(t, pay, &seq, ts, pAU)
	in := append(append(append([]*rtp.Packet{}, lossy[0], lossy[2]), after...), lossy[1])
	if f, _, asks := feedAll(a, in); len(f) != 0 || asks == 0 {
		t.Fatalf("a repair after the next frame began: %d frames, %d keyframe requests", len(f), asks)
	}
	ts += 3000
	check("the IDR after a loss", cut(t, pay, &seq, ts, idrAU), idrAU, true)
}

// TestVP8AssemblerRepairedStart: a VP8 frame whose first packet (the
// partition start) comes last, repaired, comes out whole, and so does
// one whose marker packet comes last.
func TestVP8AssemblerRepairedStart(t *testing.T) {
	a := newFrameAssembler(&vp8Depacketizer{})
	pay := &codecs.VP8Payloader{EnablePictureID: true}
	var seq uint16
	key := vp8Frame(true, 3000, 1)
	if f, _, _ := feedAll(a, cut(t, pay, &seq, 3000, key)); len(f) != 1 {
		t.Fatal("the key frame did not come out")
	}
	for i, ts := range []uint32{6000, 9000} {
		inter := vp8Frame(false, 2500, byte(2+i))
		pk := cut(t, pay, &seq, ts, inter)
		if len(pk) < 3 {
			t.Fatalf("the inter frame is %d packets, want 3 or more", len(pk))
		}
		which := 0 // the first packet, then the last
		if i == 1 {
			which = len(pk) - 1
		}
		if f, _, asks := feedAll(a, repaired(pk, which)); len(f) != 1 || asks != 0 || !bytes.Equal(f[0], inter) {
			t.Fatalf("inter frame, packet %d of %d repaired: %d frames, %d asks", which, len(pk), len(f), asks)
		}
	}
}
