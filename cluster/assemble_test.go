package cluster

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var (
	sps   = []byte{0x67, 0x42, 0xe0, 0x1f, 0xaa}
	pps   = []byte{0x68, 0xce, 0x3c, 0x80}
	idr   = append([]byte{0x65, 0x88}, bytes.Repeat([]byte{1}, 3000)...)
	slice = append([]byte{0x41, 0x9a}, bytes.Repeat([]byte{2}, 100)...)
)

// packetize cuts NAL units into RTP payloads as a sender does: small ones
// alone, a large one in FU-A fragments of at most mtu bytes.
func packetize(seq *uint16, ts uint32, nalus ...[]byte) []*rtp.Packet {
	const mtu = 1200
	var out []*rtp.Packet
	add := func(p []byte) {
		out = append(out, &rtp.Packet{Header: rtp.Header{SequenceNumber: *seq, Timestamp: ts}, Payload: p})
		*seq++
	}
	for _, n := range nalus {
		if len(n) <= mtu {
			add(n)
			continue
		}
		hdr, body := n[0], n[1:]
		for i := 0; i < len(body); i += mtu {
			end := min(i+mtu, len(body))
			fu := []byte{hdr&0xe0 | 28, hdr & 0x1f}
			if i == 0 {
				fu[1] |= 0x80
			}
			if end == len(body) {
				fu[1] |= 0x40
			}
			add(append(fu, body[i:end]...))
		}
	}
	out[len(out)-1].Marker = true
	return out
}

func feedAll(a *frameAssembler, pkts []*rtp.Packet) (frames [][]byte, keys []bool, asks int) {
	for _, p := range pkts {
		f, _, k, ask := a.push(p)
		if ask {
			asks++
		}
		if f != nil {
			frames = append(frames, f)
			keys = append(keys, k)
		}
	}
	return
}

func TestAssemblerFramesAndLoss(t *testing.T) {
	a := newFrameAssembler(&h264Depacketizer{})
	var seq uint16 = 65530 // wraps within the test
	// A P-frame before any IDR is dropped: a viewer cannot start on it.
	if f, _, _ := feedAll(a, packetize(&seq, 0, slice)); len(f) != 0 {
		t.Fatal("a frame before the first IDR came out")
	}
	f, k, _ := feedAll(a, packetize(&seq, 3000, sps, pps, idr))
	if len(f) != 1 || !k[0] {
		t.Fatalf("IDR access unit: %d frames, keys %v", len(f), k)
	}
	want := []byte{}
	for _, n := range [][]byte{sps, pps, idr} {
		want = append(append(want, 0, 0, 0, 1), n...)
	}
	if !bytes.Equal(f[0], want) {
		t.Fatalf("IDR access unit is not SPS, PPS and IDR in Annex-B (%d bytes, want %d)", len(f[0]), len(want))
	}
	if f, k, _ := feedAll(a, packetize(&seq, 6000, slice)); len(f) != 1 || k[0] {
		t.Fatalf("P-frame: %d frames, keys %v", len(f), k)
	}
	// A packet of an IDR is lost (and not repaired before the next frame
	// begins): that frame and every P-frame after it are dropped, a
	// keyframe is asked for, and the next IDR plays.
	lossy := packetize(&seq, 9000, sps, pps, idr)
	lossy = append(lossy[:3], lossy[4:]...)
	f, _, asks := feedAll(a, append(lossy, packetize(&seq, 12000, slice)...))
	if len(f) != 0 || asks == 0 {
		t.Fatalf("frame with a lost packet, then a P-frame: %d frames out, %d keyframe requests", len(f), asks)
	}
	if f, k, _ := feedAll(a, packetize(&seq, 15000, sps, pps, idr)); len(f) != 1 || !k[0] {
		t.Fatal("the IDR after a loss did not come out")
	}
	// A late packet (a retransmission) is ignored, not taken for a loss.
	late := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq - 2, Timestamp: 15000}, Payload: slice}
	if f, _, _, ask := a.push(late); f != nil || ask {
		t.Fatal("a late packet made a frame or asked for a keyframe")
	}
	if f, _, _ := feedAll(a, packetize(&seq, 18000, slice)); len(f) != 1 {
		t.Fatal("the stream did not go on after a late packet")
	}
}

func TestRTPClock(t *testing.T) {
	c := rtpClock{rate: 90000}
	base := 2 * time.Second
	if got := c.pts(4294967000, base); got != base {
		t.Fatalf("first: %v", got)
	}
	// 3000 ticks later across the 32-bit wrap: 1/30 s on.
	var ts uint32 = 4294967000
	ts += 3000
	if got := c.pts(ts, base+time.Hour); got != base+time.Second/30 {
		t.Fatalf("after the wrap: %v, want %v", got, base+time.Second/30)
	}
}

// TestRTPClockPast29Hours: a track that runs for more than 29 h at
// 90 kHz (ext*1e9 past int64) keeps a PTS that grows with it.
func TestRTPClockPast29Hours(t *testing.T) {
	c := rtpClock{rate: 90000}
	c.pts(0, 0)
	var ts uint32
	const step = 90000 * 60 // one minute a call: well inside int32
	minutes := 30 * 60
	for i := 1; i <= minutes; i++ {
		ts += step
		got := c.pts(ts, 0)
		if want := time.Duration(i) * time.Minute; got != want {
			t.Fatalf("after %d min: %v, want %v", i, got, want)
		}
	}
	// A frame's fraction of a second past 30 h stays exact.
	ts += 3000
	if got, want := c.pts(ts, 0), 30*time.Hour+time.Second/30; got != want {
		t.Fatalf("past 30 h: %v, want %v", got, want)
	}
}

// TestAssemblerPadding: padding-only packets (the origin's bandwidth
// probes, at the last frame's timestamp, continuing the sequence) between
// frames neither break the next frame nor ask for a keyframe.
func TestAssemblerPadding(t *testing.T) {
	a := newFrameAssembler(&h264Depacketizer{})
	var seq uint16
	if f, _, _ := feedAll(a, packetize(&seq, 0, sps, pps, idr)); len(f) != 1 {
		t.Fatal("IDR access unit did not come out")
	}
	for i := 0; i < 3; i++ {
		p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: 0, Padding: true}}
		seq++
		if f, _, _, ask := a.push(p); f != nil || ask {
			t.Fatal("a padding packet made a frame or asked for a keyframe")
		}
	}
	f, _, asks := feedAll(a, packetize(&seq, 3000, slice))
	if len(f) != 1 || asks != 0 {
		t.Fatalf("the frame after padding: %d frames, %d keyframe requests", len(f), asks)
	}
}

// TestAssemblerH264LostStart: a pull whose first packet is the middle of
// an FU-A (the start was sent before it joined) drops that frame.
func TestAssemblerH264LostStart(t *testing.T) {
	a := newFrameAssembler(&h264Depacketizer{})
	var seq uint16
	pkts := packetize(&seq, 0, idr)
	if f, _, _ := feedAll(a, pkts[1:]); len(f) != 0 {
		t.Fatal("an IDR without its first fragment came out")
	}
	if f, k, _ := feedAll(a, packetize(&seq, 3000, sps, pps, idr)); len(f) != 1 || !k[0] {
		t.Fatal("the next IDR did not come out")
	}
}
