package sender

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/stream"
)

// ladderStream publishes a stream "cam" with the H.264 rungs hi (640x360,
// 30 fps) and lo (320x180 at loFPS) and audio, on no pipeline; the hub
// closes with the test.
func ladderStream(t *testing.T, loFPS int) *stream.Stream {
	t.Helper()
	hub := stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
		pub.Stream().SetLadder([]stream.FeedInfo{
			{Name: "hi", Codec: stream.CodecH264, Width: 640, Height: 360, FPS: 30, Bitrate: 800_000},
			{Name: "lo", Codec: stream.CodecH264, Width: 320, Height: 180, FPS: loFPS, Bitrate: 250_000},
		}, stream.FeedInfo{Name: "audio", Codec: stream.CodecOpus})
		return nopPipeline{}, nil
	}, nil)
	t.Cleanup(func() { hub.Close() })
	pub, err := hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub.Stream()
}

// newTestLoop returns the media loop of a viewer of a stream with the
// rungs hi and lo and audio, started on hi, on tracks bound to no
// connection; teardowns counts the session's teardowns.
func newTestLoop(t *testing.T) (l *loop, st *stream.Stream, teardowns *int) {
	t.Helper()
	st = ladderStream(t, 15)
	n := 0
	v := NewViewer(Options{ID: "0123456789abcdef", Stream: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Ctx: context.Background(), Queue: 16, Config: DefaultConfig(), Teardown: func() { n++ }})
	v.video, _ = boundToSink(t, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}, 102)
	v.audio, _ = boundToSink(t, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, 111)
	hi, err := st.Rung("hi")
	if err != nil {
		t.Fatal(err)
	}
	return v.newLoop(hi), st, &n
}

// keyframe is an H.264 IDR access unit of about three RTP packets.
func keyframe(pts time.Duration) *stream.Packet {
	data := append([]byte{0, 0, 0, 1, 0x65}, bytes.Repeat([]byte{0x5a}, 3000)...)
	return &stream.Packet{Kind: stream.KindVideo, PTS: pts, DTS: pts, Keyframe: true, Data: data}
}

// next waits for the next packet of r.
func next(t *testing.T, r *stream.Reader) *stream.Packet {
	t.Helper()
	select {
	case p := <-r.C():
		return p
	case <-time.After(5 * time.Second):
		t.Fatalf("no packet from %s", r.Feed().Info().Name)
		return nil
	}
}

// TestLoopSwitchesByHand drives a viewer's media loop event by event: a
// rung asked for by name is read at once and sent from its first
// keyframe on, the old rung's reader closed; an unknown rung changes
// nothing; "auto" gives the rung back to the controller; closing the loop
// tears the session down once.
func TestLoopSwitchesByHand(t *testing.T) {
	l, st, teardowns := newTestLoop(t)
	hi, _ := st.Rung("hi")
	lo, _ := st.Rung("lo")
	if l.cur.Feed() != hi || l.v.feed.Load() != hi || l.audio == nil {
		t.Fatalf("started on %s, feed %v, audio %v: want hi and audio", l.cur.Feed().Info().Name, l.v.feed.Load(), l.audio)
	}
	old := l.cur
	if n := hi.Readers(); n != 1 {
		t.Fatalf("hi has %d readers, want 1", n)
	}
	l.onRungRequest("nope")
	if l.pending != nil || l.ad.manual {
		t.Fatal("an unknown rung started a switch")
	}
	l.onRungRequest("lo")
	if l.pending == nil || l.pending.Feed() != lo || !l.ad.manual {
		t.Fatalf("asked for lo: pending %v, manual %v", l.pending, l.ad.manual)
	}
	// Video from hi goes on until lo's keyframe comes.
	hi.Write(keyframe(0))
	seq := l.vout.seq
	if !l.onVideo(next(t, l.cur)) || l.vout.seq-seq < 3 || l.ad.packets < 3 {
		t.Fatalf("hi's keyframe took %d packets (%d counted)", l.vout.seq-seq, l.ad.packets)
	}
	lo.Write(keyframe(33 * time.Millisecond))
	seq = l.vout.seq
	l.onPending(next(t, l.pending))
	if l.cur.Feed() != lo || l.pending != nil || l.v.feed.Load() != lo {
		t.Fatalf("after lo's keyframe: sending %s, pending %v", l.cur.Feed().Info().Name, l.pending)
	}
	if l.vout.seq-seq < 3 {
		t.Fatal("lo's keyframe not sent")
	}
	if in := l.v.Info(); in.Rung != "lo" {
		t.Fatalf("the API lists rung %q, want lo", in.Rung)
	}
	if n := hi.Readers(); n != 0 || old.Feed() != hi {
		t.Fatalf("hi has %d readers after the switch, want its reader closed", n)
	}
	l.onRungRequest("auto")
	if l.ad.manual {
		t.Fatal("still manual after auto")
	}
	l.close()
	if n := lo.Readers(); n != 0 {
		t.Fatalf("lo has %d readers after close", n)
	}
	if *teardowns != 1 {
		t.Fatalf("%d teardowns, want 1", *teardowns)
	}
}

// TestLoopHoldsVideo: while a switch down is held the old rung's frames
// are dropped, and while audio only only keyframes (stills) go out.
func TestLoopHoldsVideo(t *testing.T) {
	l, st, _ := newTestLoop(t)
	defer l.close()
	hi, _ := st.Rung("hi")
	l.hold.dropping = true
	hi.Write(keyframe(0))
	seq := l.vout.seq
	l.onVideo(next(t, l.cur))
	if l.vout.seq != seq || l.ad.packets != 0 {
		t.Fatalf("%d packets sent while the video is held", l.vout.seq-seq)
	}
	l.hold.dropping, l.audioOnly = false, true
	p := keyframe(33 * time.Millisecond)
	p.Keyframe = false
	hi.Write(p)
	hi.Write(keyframe(66 * time.Millisecond))
	l.onVideo(next(t, l.cur))
	if l.vout.seq != seq {
		t.Fatal("a frame other than a still sent while audio only")
	}
	l.onVideo(next(t, l.cur))
	if l.vout.seq == seq {
		t.Fatal("no still sent while audio only")
	}
}
