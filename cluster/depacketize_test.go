package cluster

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// vp8Frame returns a VP8 frame of n bytes: a key frame (frame tag with P
// clear, start code, 640x360) or an inter frame (P set), its body filled
// with fill.
func vp8Frame(key bool, n int, fill byte) []byte {
	f := bytes.Repeat([]byte{fill}, n)
	if key {
		copy(f, []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01})
	} else {
		copy(f, []byte{0x11, 0x02, 0x00})
	}
	return f
}

// vp8Packets cuts frame into RTP packets with pion's VP8 payloader (RFC
// 7741 descriptors with a picture ID), as the origin's sender does.
func vp8Packets(pay *codecs.VP8Payloader, seq *uint16, ts uint32, frame []byte) []*rtp.Packet {
	var out []*rtp.Packet
	for _, p := range pay.Payload(1200, frame) {
		out = append(out, &rtp.Packet{Header: rtp.Header{SequenceNumber: *seq, Timestamp: ts}, Payload: p})
		*seq++
	}
	out[len(out)-1].Marker = true
	return out
}

func TestVP8AssemblerFramesAndLoss(t *testing.T) {
	pay := &codecs.VP8Payloader{EnablePictureID: true}
	a := newFrameAssembler(&vp8Depacketizer{})
	var seq uint16 = 65533 // wraps within the test
	var ts uint32
	next := func(key bool, n int, fill byte) ([]byte, []*rtp.Packet) {
		ts += 3000
		f := vp8Frame(key, n, fill)
		return f, vp8Packets(pay, &seq, ts, f)
	}
	// An inter frame before any key frame is dropped.
	_, pk := next(false, 900, 1)
	if f, _, asks := feedAll(a, pk); len(f) != 0 || asks != 0 {
		t.Fatalf("inter frame before a key frame: %d frames, %d asks", len(f), asks)
	}
	// A key frame in three packets comes out whole, descriptors stripped.
	want, pk := next(true, 3000, 2)
	if len(pk) < 3 {
		t.Fatalf("the key frame is %d packets, want several", len(pk))
	}
	f, k, _ := feedAll(a, pk)
	if len(f) != 1 || !k[0] || !bytes.Equal(f[0], want) {
		t.Fatalf("key frame: %d frames, keys %v, equal %v", len(f), k, len(f) == 1 && bytes.Equal(f[0], want))
	}
	want, pk = next(false, 2500, 3)
	if f, k, _ := feedAll(a, pk); len(f) != 1 || k[0] || !bytes.Equal(f[0], want) {
		t.Fatalf("inter frame: %d frames, keys %v", len(f), k)
	}
	// A packet lost in the middle of an inter frame (and not repaired
	// before the next frame begins): it and every frame up to the next key
	// frame are dropped, and a key frame is asked for.
	_, pk = next(false, 2500, 4)
	lossy := append(pk[:1:1], pk[2:]...)
	_, pk = next(false, 500, 5)
	if f, _, asks := feedAll(a, append(lossy, pk...)); len(f) != 0 || asks == 0 {
		t.Fatalf("frame with a lost packet, then an inter frame: %d frames, %d asks", len(f), asks)
	}
	want, pk = next(true, 2000, 6)
	if f, k, _ := feedAll(a, pk); len(f) != 1 || !k[0] || !bytes.Equal(f[0], want) {
		t.Fatal("the key frame after a loss did not come out")
	}
	// A frame whose last packet (and marker) is lost comes out of nowhere
	// when the next timestamp begins: dropped, a key frame asked for.
	_, pk = next(false, 2500, 7)
	lostTail := pk[:len(pk)-1]
	_, pk2 := next(false, 500, 8)
	f, _, asks := feedAll(a, append(lostTail, pk2...))
	if len(f) != 0 || asks == 0 {
		t.Fatalf("frames after a lost marker: %d frames, %d asks", len(f), asks)
	}
	// Padding between frames breaks nothing.
	want, pk = next(true, 1000, 9)
	pad := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, Padding: true}}
	seq++
	if f, _, asks := feedAll(a, append(pk, pad)); len(f) != 1 || asks != 0 || !bytes.Equal(f[0], want) {
		t.Fatalf("key frame then padding: %d frames, %d asks", len(f), asks)
	}
	want, pk = next(false, 300, 10)
	if f, _, asks := feedAll(a, pk); len(f) != 1 || asks != 0 || !bytes.Equal(f[0], want) {
		t.Fatalf("the frame after padding: %d frames, %d asks", len(f), asks)
	}
}

// TestVP8AssemblerJoinMidFrame: a pull whose first packet is not the
// start of a frame's first partition drops that frame.
func TestVP8AssemblerJoinMidFrame(t *testing.T) {
	pay := &codecs.VP8Payloader{EnablePictureID: true}
	a := newFrameAssembler(&vp8Depacketizer{})
	var seq uint16
	pk := vp8Packets(pay, &seq, 0, vp8Frame(true, 3000, 1))
	if f, _, _ := feedAll(a, pk[1:]); len(f) != 0 {
		t.Fatal("a key frame without its first packet came out")
	}
	want := vp8Frame(true, 1500, 2)
	if f, k, _ := feedAll(a, vp8Packets(pay, &seq, 3000, want)); len(f) != 1 || !k[0] || !bytes.Equal(f[0], want) {
		t.Fatal("the next key frame did not come out")
	}
}

// TestVP8AssemblerMalformed: a key frame without its start code, a frame
// too short for its tag, and a payload too short for its descriptor are
// dropped with a keyframe request, never passed on.
func TestVP8AssemblerMalformed(t *testing.T) {
	pay := &codecs.VP8Payloader{EnablePictureID: true}
	var seq uint16
	for name, pkts := range map[string][]*rtp.Packet{
		"no start code": vp8Packets(pay, &seq, 0, append([]byte{0x10, 0x02, 0x00, 1, 2, 3}, make([]byte, 50)...)),
		"short frame":   vp8Packets(pay, &seq, 0, []byte{0x11}),
		"short payload": {{Header: rtp.Header{SequenceNumber: 7, Marker: true}, Payload: []byte{0x90}}},
	} {
		a := newFrameAssembler(&vp8Depacketizer{})
		if f, _, asks := feedAll(a, pkts); len(f) != 0 || asks == 0 {
			t.Errorf("%s: %d frames, %d asks", name, len(f), asks)
		}
	}
}

func TestVP8Keyframe(t *testing.T) {
	for _, c := range []struct {
		frame   []byte
		key, ok bool
	}{
		{vp8Frame(true, 20, 0), true, true},
		{vp8Frame(false, 20, 0), false, true},
		{[]byte{0x10, 0, 0, 0x9d, 0x01, 0x2a}, false, false},
		{[]byte{0x11, 0}, false, false},
	} {
		key, err := vp8Keyframe(c.frame)
		if key != c.key || (err == nil) != c.ok {
			t.Errorf("% x: key %v err %v, want key %v ok %v", c.frame, key, err, c.key, c.ok)
		}
	}
}
