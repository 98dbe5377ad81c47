package transcode

import (
	"slices"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// TestVP8RetuneAtKeyframe: libvpx ignores a bitrate set after Open, so a
// VP8 twin retuned to its viewer's link reopens its encoder at its next
// keyframe: the rate holds until then and falls to the new target after.
func TestVP8RetuneAtKeyframe(t *testing.T) {
	defer goleak.VerifyNone(t)
	// Noise keeps the encoder at its target at either bitrate.
	tracks, pkts := demux(t, makeInput(t, "noisy.flv",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30,noise=alls=15:allf=t+u",
		"-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", "30", "-b:v", "4M"))
	frames := decodedFrames(t, tracks, pkts)

	cfg := DefaultConfig()
	r := plannedRung{Rung: Rung{Name: "360p", Width: 640, Height: 360, FPS: 30, Bitrate: 800_000}}
	log := testLogger()
	tw, err := newVP8Twin("vp8rt", r, 640, 360, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer metrics.DeleteRung("vp8rt", "360p")
	feed := stream.NewFeed(stream.FeedInfo{Name: "360p", Kind: stream.KindVideo, Codec: stream.CodecVP8})
	tw.feed = feed
	rd := feed.Subscribe(4096)
	const retuneAt, keyAt = 60, 90 // frames: 2 s and 3 s
	for i, f := range frames {
		pts := int64(i) * 3000
		if i == retuneAt {
			rd.SetDemand(300_000)
			tw.tickViewers(log, time.Now())
		}
		if tw.idle(log) {
			t.Fatal("a watched twin is paused")
		}
		if err := tw.send(f, pts, i%keyAt == 0); err != nil {
			t.Fatal(err)
		}
	}
	if n := codecCounter(t, metrics.EncodedFrames, "vp8rt", "360p", stream.CodecVP8); n != float64(len(frames)) {
		t.Errorf("mediad_encoded_frames_total{vp8} = %v, want %d", n, len(frames))
	}
	if n := codecCounter(t, metrics.RungRetunes, "vp8rt", "360p", stream.CodecVP8); n != 1 {
		t.Errorf("mediad_rung_retunes_total{vp8} = %v, want 1", n)
	}
	if g := codecGauge(t, metrics.RungTargetBitrate, "vp8rt", "360p", stream.CodecVP8); g != 270_000 {
		t.Errorf("mediad_rung_target_bitrate_bps{vp8} = %v, want 270000 (90 %% of the link)", g)
	}
	out := drain(rd)
	rd.Close()
	tw.close()
	if len(out) != len(frames) {
		t.Fatalf("%d packets for %d frames", len(out), len(frames))
	}
	if k := keyframePTS(out); !slices.Equal(k, []time.Duration{0, 3 * time.Second}) {
		t.Errorf("keyframes at %v, want 0 and 3s only (the reopen at the scheduled one)", k)
	}
	held, after := bitrate(out, time.Second, 3*time.Second), bitrate(out, 3500*time.Millisecond, 6*time.Second)
	t.Logf("VP8 rate: %.0f b/s before the keyframe, %.0f b/s after", held, after)
	if held < 600_000 {
		t.Errorf("rate before the keyframe %.0f b/s, want about 800000 (the retune waits for it)", held)
	}
	if after > 380_000 {
		t.Errorf("rate after the keyframe %.0f b/s, want about 270000", after)
	}
	checkFreed(t)
}

// decodedFrames decodes pkts and returns references to every frame, freed
// when t ends.
func decodedFrames(t *testing.T, tracks []stream.Track, pkts []*stream.Packet) []*astiav.Frame {
	t.Helper()
	d, err := openDecoder(videoTrack(t, tracks))
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	var frames []*astiav.Frame
	decodeAll(t, d, pkts, func(f *astiav.Frame) {
		c := astiav.AllocFrame()
		if err := c.Ref(f); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, c)
	})
	t.Cleanup(func() {
		for _, f := range frames {
			f.Free()
		}
	})
	return frames
}

// TestVP8TwinLifecycle: a twin holds no encoder until a viewer comes,
// keeps it through a short pause, frees it after vp8IdleClose, and opens
// a new one, starting with a keyframe, when a viewer comes back.
func TestVP8TwinLifecycle(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := demux(t, testClip(t, "in.flv", "testsrc2=size=320x180:rate=30", 1))
	frames := decodedFrames(t, tracks, pkts)
	log := testLogger()
	tw, err := newVP8Twin("vp8life", plannedRung{Rung: Rung{Name: "180p", Width: 320, Height: 180, FPS: 30, Bitrate: 250_000}}, 320, 180, DefaultConfig(), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer metrics.DeleteRung("vp8life", "180p")
	tw.feed = stream.NewFeed(stream.FeedInfo{Name: "180p", Kind: stream.KindVideo, Codec: stream.CodecVP8})
	if !tw.idle(log) || tw.cc != nil {
		t.Fatal("an unwatched twin runs or holds an encoder")
	}
	watch := func(from, to int) []*stream.Packet {
		rd := tw.feed.Subscribe(4096)
		defer rd.Close()
		for i := from; i < to; i++ {
			if tw.idle(log) {
				t.Fatalf("frame %d: a watched twin is paused", i)
			}
			if err := tw.send(frames[i], int64(i)*3000, false); err != nil {
				t.Fatal(err)
			}
		}
		return drain(rd)
	}
	first := watch(0, 10)
	if !tw.idle(log) || tw.cc == nil {
		t.Fatal("a twin left by its viewer runs, or freed its encoder at once")
	}
	tw.tickViewers(log, time.Now().Add(vp8IdleClose/2))
	if tw.cc == nil {
		t.Fatal("the encoder was freed before vp8IdleClose")
	}
	tw.tickViewers(log, time.Now().Add(vp8IdleClose+time.Second))
	if tw.cc != nil {
		t.Fatal("the encoder outlived vp8IdleClose")
	}
	second := watch(10, 20)
	tw.close()
	for i, out := range [][]*stream.Packet{first, second} {
		if len(out) != 10 || !out[0].Keyframe {
			t.Fatalf("watch %d: %d packets, want 10 from a keyframe", i, len(out))
		}
		decodeWith(t, "vp8", out, func(*astiav.Frame) {})
	}
	checkFreed(t)
}

// TestVP8ReopenFailureKeepsTarget: a retune whose reopen fails leaves the
// twin on its open encoder, and its target (and gauge) say that encoder's
// bitrate again, not the one it never took.
func TestVP8ReopenFailureKeepsTarget(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := plannedRung{Rung: Rung{Name: "360p", Width: 640, Height: 360, FPS: 30, Bitrate: 800_000}}
	log := testLogger()
	tw, err := newVP8Twin("vp8fail", r, 640, 360, DefaultConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	defer metrics.DeleteRung("vp8fail", "360p")
	tw.feed = stream.NewFeed(stream.FeedInfo{Name: "360p", Kind: stream.KindVideo, Codec: stream.CodecVP8})
	if !tw.wakeVP8(log) {
		t.Fatal("the twin's encoder did not open")
	}
	open := tw.cc
	tw.v.target, tw.reopenBps = 270_000, 270_000 // as a retune leaves them
	tw.v.mTarget.Set(270_000)
	tw.w = 0 // libvpx refuses to open at this size
	tw.reopenVP8()
	if tw.cc != open {
		t.Fatal("the open encoder was replaced although the reopen failed")
	}
	if tw.v.target != 800_000 {
		t.Errorf("target %d after a failed reopen, want the open encoder's 800000", tw.v.target)
	}
	if g := codecGauge(t, metrics.RungTargetBitrate, "vp8fail", "360p", stream.CodecVP8); g != 800_000 {
		t.Errorf("mediad_rung_target_bitrate_bps{vp8} = %v after a failed reopen, want 800000", g)
	}
	tw.close()
	checkFreed(t)
}
