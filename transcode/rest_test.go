package transcode

import (
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// luma returns a decoded yuv420p frame's luma plane, w x h bytes.
func luma(tb testing.TB, f *astiav.Frame) []byte {
	tb.Helper()
	b, err := f.Data().Bytes(1)
	if err != nil {
		tb.Fatal(err)
	}
	return b[:f.Width()*f.Height()]
}

// meanDiff is the mean absolute difference between small (w x h) and big
// (2w x 2h) averaged over 2x2 blocks.
func meanDiff(small, big []byte, w, h int) float64 {
	sum := 0
	for y := range h {
		for x := range w {
			i := 2*y*2*w + 2*x
			avg := (int(big[i]) + int(big[i+1]) + int(big[i+2*w]) + int(big[i+2*w+1]) + 2) / 4
			d := int(small[y*w+x]) - avg
			sum += max(d, -d)
		}
	}
	return float64(sum) / float64(w*h)
}

// While no transcoded rung is watched the source is not decoded; when one
// is, it starts at once with a keyframe, long before the source's next
// one, and its first picture is the source's picture, not one decoded
// from missing references.
func TestSourceRestsUntilARungIsWatched(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := demux(t, makeInput(t, "rest.mp4", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30,scroll=horizontal=0.013:vertical=0.007",
		"-t", "3", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline", "-g", "300"))
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub := newTestHub(cfg)
	pub, err := hub.Publish("rest", "rtmp", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	before := func(d time.Duration) []*stream.Packet {
		var out []*stream.Packet
		for _, p := range pkts {
			if p.PTS < d {
				out = append(out, p)
			}
		}
		return out
	}
	first := before(time.Second)
	publishAll(t, pub, first)
	waitRungs(t, st)
	waitIdle(t, st, pub)
	resting := metrics.SourceDecodeResting.WithLabelValues("rest")
	if got := testutil.ToFloat64(resting); got != 1 {
		t.Fatalf("mediad_source_decode_resting %v with no rung watched, want 1", got)
	}
	// A viewer of the source rung that adapts (it reports a demand) may
	// step down at any moment: the source is decoded while it watches.
	src, err := st.RungFor("source", stream.CodecH264)
	if err != nil {
		t.Fatal(err)
	}
	sr := src.Subscribe(1024)
	sr.SetDemand(2_000_000)
	third := before(1500 * time.Millisecond)[len(first):]
	publishAll(t, pub, third)
	waitIdle(t, st, pub)
	if got := testutil.ToFloat64(resting); got != 0 {
		t.Errorf("mediad_source_decode_resting %v while an adapting viewer watches the source rung, want 0", got)
	}
	sr.Close()
	first = append(first, third...)

	f, err := st.RungFor("180p", stream.CodecH264)
	if err != nil {
		t.Fatal(err)
	}
	r := f.Subscribe(1024)
	second := before(2500 * time.Millisecond)[len(first):]
	publishAll(t, pub, second)
	waitIdle(t, st, pub)
	if got := testutil.ToFloat64(resting); got != 0 {
		t.Errorf("mediad_source_decode_resting %v with a rung watched, want 0", got)
	}
	out := drain(r)
	r.Close()
	if len(out) < 10 || !out[0].Keyframe {
		t.Fatalf("the watched rung sent %d packets (first a keyframe: %v) over a second with no source keyframe, want 10 or more (180p runs at 15 fps) from a keyframe", len(out), len(out) > 0 && out[0].Keyframe)
	}
	var got []byte
	decodeWith(t, "h264", out[:1], func(fr *astiav.Frame) {
		if got == nil {
			got = append([]byte(nil), luma(t, fr)...)
		}
	})
	// The closest of the source's pictures (the source scrolls: a
	// picture decoded without its references is far from all of them).
	best := 255.0
	decodeWith(t, "h264", before(2500*time.Millisecond), func(fr *astiav.Frame) {
		if got != nil {
			best = min(best, meanDiff(got, luma(t, fr), 320, 180))
		}
	})
	// Measured: 0.4 when the kept packets are decoded first; over 5 when
	// the decoder resumes from the last keyframe without them.
	if got == nil || best > 2 {
		t.Fatalf("the rung's first picture differs from every source picture by %.1f on average (of 255), want under 2", best)
	}
	pub.Close()
	hub.Close()
	checkFreed(t)
}
