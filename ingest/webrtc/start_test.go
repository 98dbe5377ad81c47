package webrtc

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/mutstream/mutstream/stream"
)

// startFrames runs a fresh Publisher whose video track arrives with fmtp
// and whose first packets are payloads (one frame each, in order), queued
// the way onTrack and readRTP queue them, and returns the first video
// packet the publication delivers.
func startFrames(t *testing.T, fmtp string, payloads [][]byte) *stream.Packet {
	t.Helper()
	rec := &recorder{}
	hub := stream.NewHub(rec.start, testLogger(t))
	defer hub.Close()
	rpc := newReceiverPC(t, nil)
	defer rpc.Close()
	p := NewPublisher(Config{TrackWait: time.Millisecond}, hub, "start", rpc, Want{Video: true}, nil, testLogger(t))
	defer p.Close()
	tr := p.newTrackState(stream.KindVideo, stream.CodecH264, 90000, 1234, fmtp)
	// As onTrack, then the reader: nothing in between.
	p.queueArrival(tr)
	for i, pl := range payloads {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1234, SequenceNumber: uint16(100 + i), Timestamp: uint32(3000 * i), Marker: true}, Payload: pl}
		p.in <- rtpIn{t: tr, pkt: pkt, at: time.Now()}
	}
	var first *stream.Packet
	waitFor(t, "the first video frame", 10*time.Second, func() bool {
		_, pkts := rec.snapshot()
		for _, pk := range pkts {
			if pk.Kind == stream.KindVideo {
				first = pk
				return true
			}
		}
		return false
	})
	return first
}

func hasParams(t *testing.T, pkt *stream.Packet) bool {
	types := map[byte]bool{}
	for _, n := range splitAnnexB(t, pkt.Data) {
		types[n[0]&0x1f] = true
	}
	return pkt.Keyframe && types[naluSPS] && types[naluPPS] && types[naluIDR]
}

// TestFirstSTAPAReachesTheDepacketizer: the STAP-A with SPS and PPS that a
// publisher (FFmpeg) sends as the very first packet of its track is never
// lost to the track's arrival racing its packets into the loop (it was
// about 1 publish in 15), so the first IDR carries the parameter sets.
func TestFirstSTAPAReachesTheDepacketizer(t *testing.T) {
	for i := 0; i < 20; i++ {
		// The parameter sets in their own packet (own timestamp), then the
		// IDR and a P frame.
		first := startFrames(t, "packetization-mode=1", [][]byte{stapA(testSPS, testPPS), testIDR, testP})
		if !hasParams(t, first) {
			t.Fatalf("run %d: first video frame has no SPS/PPS: %x", i, first.Data)
		}
	}
}

// TestSpropParameterSetsForTheFirstIDR: with no STAP-A at all, the SDP's
// sprop-parameter-sets go before the first IDR.
func TestSpropParameterSetsForTheFirstIDR(t *testing.T) {
	fmtp := "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42c01f;sprop-parameter-sets=" +
		base64.StdEncoding.EncodeToString(testSPS) + "," + base64.StdEncoding.EncodeToString(testPPS)
	first := startFrames(t, fmtp, [][]byte{testIDR, testP})
	if !hasParams(t, first) {
		t.Fatalf("first video frame has no SPS/PPS: %x", first.Data)
	}
	sps, pps := spropParameterSets(fmtp)
	if !bytes.Equal(sps, testSPS) || !bytes.Equal(pps, testPPS) {
		t.Fatalf("sprop: %x %x", sps, pps)
	}
	for _, bad := range []string{"", "sprop-parameter-sets=", "sprop-parameter-sets=!!,??", "sprop-parameter-sets=" + base64.StdEncoding.EncodeToString(testIDR)} {
		if s, p := spropParameterSets(bad); s != nil || p != nil {
			t.Errorf("%q: %x %x, want none", bad, s, p)
		}
	}
}
