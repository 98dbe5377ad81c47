package webrtc

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// TestHoldUntilKeyframeWhenPLIIgnored: after a loss, a publisher that
// ignores PLI (FFmpeg's muxer) gets no frame of its passed on until its
// next keyframe (viewers hold the last good frame, no grey smear), and
// the wait shows as keyframe_wait_ms in the metric and the stream's info.
func TestHoldUntilKeyframeWhenPLIIgnored(t *testing.T) {
	rec, hub, send, lose := keyWaitPublisher(t, "keywait")
	send(stapA(testSPS, testPPS))
	send(testIDR)
	send(testP)
	send(testP)
	waitFor(t, "the first three frames", 10*time.Second, func() bool { return rec.count(stream.KindVideo) == 3 })
	lose()
	gauge := metrics.KeyframeWaitMs.WithLabelValues("keywait")
	// P frames keep coming; none of them may pass until a keyframe.
	deadline := time.Now().Add(20 * time.Second)
	for testutil.ToFloat64(gauge) < float64(keyAnswerTime.Milliseconds()) {
		if time.Now().After(deadline) {
			t.Fatal("keyframe_wait_ms never passed 1s")
		}
		send(testP)
		time.Sleep(33 * time.Millisecond) // a publisher's frame rate
	}
	st, err := hub.Lookup("keywait")
	if err != nil {
		t.Fatal(err)
	}
	if ms := st.Info().KeyframeWaitMs; ms < keyAnswerTime.Milliseconds() {
		t.Errorf("stream info keyframe_wait_ms %d, want over 1000 as the metric says", ms)
	}
	if n := rec.count(stream.KindVideo); n != 3 {
		t.Fatalf("%d video frames passed on during the wait, want the 3 before the loss", n)
	}
	send(stapA(testSPS, testPPS))
	send(testIDR)
	waitFor(t, "the keyframe", 10*time.Second, func() bool { return rec.count(stream.KindVideo) == 4 })
	_, pkts := rec.snapshot()
	if last := pkts[len(pkts)-1]; !last.Keyframe {
		t.Fatal("the frame after the wait is not the keyframe")
	}
	waitFor(t, "the wait reported over", 10*time.Second, func() bool {
		return testutil.ToFloat64(gauge) == 0 && st.Info().KeyframeWaitMs == 0
	})
}

// TestNoWaitWhenTheKeyframeFollowsTheLoss: a loss released together with
// the keyframe after it (one drain of the jitter buffer) ends the need for
// a keyframe at once: no wait starts, and keyframe_wait_ms stays 0 while
// frames flow.
func TestNoWaitWhenTheKeyframeFollowsTheLoss(t *testing.T) {
	rec, _, send, lose := keyWaitPublisher(t, "keywait-follow")
	send(stapA(testSPS, testPPS))
	send(testIDR)
	send(testP)
	waitFor(t, "the first frames", 10*time.Second, func() bool { return rec.count(stream.KindVideo) == 2 })
	lose() // a whole P frame, then the keyframe at once
	send(stapA(testSPS, testPPS))
	send(testIDR)
	waitFor(t, "the keyframe", 10*time.Second, func() bool { return rec.count(stream.KindVideo) == 3 })
	gauge := metrics.KeyframeWaitMs.WithLabelValues("keywait-follow")
	// P frames at a publisher's frame rate, over several of the loop's
	// ticks (each reports a running wait): every one passes, and no wait
	// is reported.
	const more = 20
	for i := 0; i < more; i++ {
		send(testP)
		time.Sleep(33 * time.Millisecond) // a publisher's frame rate
		if g := testutil.ToFloat64(gauge); g > 0 {
			t.Fatalf("keyframe_wait_ms = %v after frame %d, although the keyframe came right after the loss", g, i)
		}
	}
	waitFor(t, "the P frames after the keyframe", 10*time.Second, func() bool { return rec.count(stream.KindVideo) == 3+more })
	if g := testutil.ToFloat64(gauge); g > 0 {
		t.Fatalf("keyframe_wait_ms = %v with frames flowing", g)
	}
}

// keyWaitPublisher is a WHIP publisher of one H.264 track fed by hand:
// send puts one single-packet frame in, lose skips one (a whole frame
// lost).
func keyWaitPublisher(t *testing.T, name string) (rec *recorder, hub *stream.Hub, send func([]byte), lose func()) {
	t.Helper()
	rec = &recorder{}
	hub = stream.NewHub(rec.start, testLogger(t))
	t.Cleanup(hub.Close)
	rpc := newReceiverPC(t, nil)
	t.Cleanup(func() { _ = rpc.Close() })
	p := NewPublisher(Config{TrackWait: time.Millisecond}, hub, name, rpc, Want{Video: true}, nil, testLogger(t))
	t.Cleanup(p.Close)
	tr := p.newTrackState(stream.KindVideo, stream.CodecH264, 90000, 1234, "")
	p.queueArrival(tr)
	seq, ts := uint16(100), uint32(0)
	send = func(payload []byte) {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1234, SequenceNumber: seq, Timestamp: ts, Marker: true}, Payload: payload}
		p.in <- rtpIn{t: tr, pkt: pkt, at: time.Now()}
		seq++
		ts += 3000
	}
	lose = func() {
		seq++
		ts += 3000
	}
	return rec, hub, send, lose
}
