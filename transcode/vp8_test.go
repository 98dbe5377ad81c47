package transcode

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/gpu/cpu"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// feedNames lists the name/codec of every video feed of st.
func feedNames(st *stream.Stream) []string {
	var out []string
	for _, c := range st.Codecs() {
		for _, f := range st.RungsFor(c) {
			out = append(out, f.Info().Name+"/"+string(f.Info().Codec))
		}
	}
	return out
}

// TestVP8Ladder: every rung has a VP8 feed, encoded only while read; a VP8
// rung decodes at its size, its keyframes land at the H.264 rung's PTS,
// and its encoder stops (mediad_rung_paused{codec="vp8"} 1, nothing more
// written) as soon as its last reader leaves.
func TestVP8Ladder(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := demux(t, testClip(t, "in.flv", "testsrc2=size=640x360:rate=30", 6))
	defer func(d time.Duration) { vp8IdleClose = d }(vp8IdleClose)
	vp8IdleClose = 100 * time.Millisecond // set before the pipeline starts
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub := newTestHub(cfg)
	pub, err := hub.Publish("vp8lad", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	waitRungs(t, st)
	want := []string{"360p/h264", "180p/h264", "180p-lowfps/h264", "360p/vp8", "180p/vp8", "180p-lowfps/vp8"}
	if got := feedNames(st); !slices.Equal(got, want) {
		t.Fatalf("feeds %v, want %v", got, want)
	}
	if got := st.Codecs(); !slices.Equal(got, []stream.Codec{stream.CodecH264, stream.CodecVP8}) {
		t.Fatalf("codecs %v", got)
	}
	vp8 := st.RungsFor(stream.CodecVP8)
	if in := vp8[2].Info(); in.LowFPSOf != "180p" || in.FPS != 7 || in.Width != 320 {
		t.Errorf("VP8 capped rung %+v, want 320x180 at 7 fps capping 180p", in)
	}
	for _, f := range vp8 {
		if g := codecGauge(t, metrics.RungPaused, "vp8lad", f.Info().Name, stream.CodecVP8); g != 1 {
			t.Errorf("mediad_rung_paused{%s,vp8} = %v before any reader, want 1", f.Info().Name, g)
		}
	}
	h360, _ := st.RungFor("360p", stream.CodecH264)
	v360, _ := st.RungFor("360p", stream.CodecVP8)
	rh, rv := h360.Subscribe(4096), v360.Subscribe(4096)
	split := slices.IndexFunc(pkts, func(p *stream.Packet) bool { return p.Kind == stream.KindVideo && p.DTS >= 4500*time.Millisecond })
	publishAll(t, pub, pkts[first:split])
	waitIdle(t, st, pub)
	if g := codecGauge(t, metrics.RungPaused, "vp8lad", "360p", stream.CodecVP8); g != 0 {
		t.Errorf("mediad_rung_paused{360p,vp8} = %v while read, want 0", g)
	}
	if g := codecGauge(t, metrics.RungPaused, "vp8lad", "180p", stream.CodecVP8); g != 1 {
		t.Errorf("mediad_rung_paused{180p,vp8} = %v, unread, want 1", g)
	}
	if !waitUntil(5*time.Second, func() bool { // published on the pipeline's one-second tick
		return codecGauge(t, metrics.RungViewers, "vp8lad", "360p", stream.CodecVP8) == 1
	}) {
		t.Error("mediad_rung_viewers{360p,vp8} never 1 with one reader")
	}
	for _, f := range vp8[1:] {
		if p, _ := f.Stats(); p != 0 {
			t.Errorf("VP8 %s, read by nobody, wrote %d packets", f.Info().Name, p)
		}
	}
	oh, ov := drain(rh), drain(rv)

	// The last VP8 reader leaves: the encoder stops at the next frame, and
	// is freed once it has been paused for vp8IdleClose.
	// Counted before: the encoder may be freed before publishAll returns.
	objs := LiveObjects()
	rv.Close()
	written, _ := v360.Stats()
	publishAll(t, pub, pkts[split:])
	waitIdle(t, st, pub)
	if !waitUntil(5*time.Second, func() bool {
		return codecGauge(t, metrics.RungPaused, "vp8lad", "360p", stream.CodecVP8) == 1
	}) {
		t.Error("mediad_rung_paused{360p,vp8} never went back to 1 after the last reader left")
	}
	if !waitUntil(5*time.Second, func() bool { return LiveObjects() == objs-1 }) {
		t.Errorf("FFmpeg objects %d -> %d after the last VP8 reader left, want the VP8 encoder freed (one fewer)", objs, LiveObjects())
	}
	if now, _ := v360.Stats(); now != written {
		t.Errorf("VP8 360p wrote %d packets after its last reader left, want none", now-written)
	}
	if p, _ := h360.Stats(); p < 150 {
		t.Errorf("H.264 360p wrote %d packets, want it to go on (about 180)", p)
	}
	rh.Close()
	pub.Close()
	hub.Close()

	if len(ov) < 100 || !ov[0].Keyframe {
		t.Fatalf("VP8 360p: %d packets, want about 135 from a keyframe", len(ov))
	}
	n := 0
	decodeWith(t, "vp8", ov, func(f *astiav.Frame) {
		n++
		if f.Width() != 640 || f.Height() != 360 {
			t.Fatalf("VP8 frame %dx%d, want 640x360", f.Width(), f.Height())
		}
	})
	if n != len(ov) {
		t.Errorf("VP8 decoded %d frames of %d packets", n, len(ov))
	}
	for i, p := range ov[:len(ov)-1] {
		if p.Duration != oh[i].Duration {
			t.Fatalf("VP8 packet %d lasts %v, the H.264 one %v", i, p.Duration, oh[i].Duration)
		}
	}
	kh, kv := keyframePTS(oh), keyframePTS(ov)
	if !slices.Equal(kh, kv) || len(kv) < 3 {
		t.Errorf("keyframe PTS: H.264 %v, VP8 %v; want the same, at 0, 2s and 4s", kh, kv)
	}
	for i, p := range ov {
		if i > 0 && p.PTS != oh[i].PTS {
			t.Fatalf("VP8 packet %d at %v, H.264 at %v: the rungs encode different frames", i, p.PTS, oh[i].PTS)
		}
	}
	checkNoSeries(t, "vp8lad")
	checkFreed(t)
}

// TestVP8Off: with vp8.enabled false no VP8 feed and no libvpx encoder.
func TestVP8Off(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := demux(t, testClip(t, "in.flv", "testsrc2=size=320x180:rate=30", 1))
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	cfg.VP8.Enabled = false
	hub := newTestHub(cfg)
	pub, err := hub.Publish("vp8off", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	publishFirstVideo(t, pub, pkts)
	waitRungs(t, st)
	if got := st.Codecs(); !slices.Equal(got, []stream.Codec{stream.CodecH264}) {
		t.Errorf("codecs %v, want [h264]", got)
	}
	if _, err := st.RungFor("", stream.CodecVP8); !errors.Is(err, stream.ErrNoSuchCodec) {
		t.Errorf("VP8 rung with VP8 off: %v", err)
	}
	pub.Close()
	hub.Close()
	checkFreed(t)
}

// TestVP8PausedWithPauseIdleOff: with pause_idle_rungs false the H.264
// rungs encode unwatched, and the VP8 ones still do not.
func TestVP8PausedWithPauseIdleOff(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := demux(t, testClip(t, "in.flv", "testsrc2=size=320x180:rate=30", 1))
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	cfg.PauseIdleRungs = false
	hub := newTestHub(cfg)
	pub, err := hub.Publish("vp8nopause", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	waitRungs(t, st)
	publishAll(t, pub, pkts[first:])
	waitIdle(t, st, pub)
	for _, f := range st.RungsFor(stream.CodecH264) {
		if p, _ := f.Stats(); p == 0 {
			t.Errorf("H.264 %s wrote nothing with pause_idle_rungs off", f.Info().Name)
		}
	}
	vp8 := st.RungsFor(stream.CodecVP8)
	if len(vp8) == 0 {
		t.Fatal("no VP8 feeds")
	}
	for _, f := range vp8 {
		if p, _ := f.Stats(); p != 0 {
			t.Errorf("VP8 %s, watched by nobody, wrote %d packets", f.Info().Name, p)
		}
	}
	pub.Close()
	hub.Close()
	checkFreed(t)
}

// TestVP8Mutated: mutations act before the encoders, so a VP8 rung shows
// the mutated picture as the H.264 one does.
func TestVP8Mutated(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := darkInput(t, "in.mkv", "1")
	in := mean(lumaMeans(t, ofKind(pkts, stream.KindVideo)))
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub, _ := startMutateHub(cfg, Deps{Backend: cpu.New(1), Chain: []gpu.Spec{spec("test_invert")}})
	pub, err := hub.Publish("vp8mut", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	waitRungs(t, st)
	f, err := st.RungFor("180p", stream.CodecVP8)
	if err != nil {
		t.Fatal(err)
	}
	r := f.Subscribe(4096)
	publishAll(t, pub, pkts[first:])
	waitIdle(t, st, pub)
	out := drain(r)
	r.Close()
	pub.Close()
	hub.Close()
	var lumas []float64
	decodeWith(t, "vp8", out, func(f *astiav.Frame) { lumas = append(lumas, meanY(t, f)) })
	if len(lumas) < 5 {
		t.Fatalf("%d VP8 frames, want at least 5", len(lumas))
	}
	got := mean(lumas)
	t.Logf("mean luma: source %.1f, VP8 rung %.1f", in, got)
	if in > 100 || got-(255-in) > 12 || (255-in)-got > 12 {
		t.Errorf("VP8 mean luma %.1f, want the inverted source's (%.1f)", got, 255-in)
	}
	checkFreed(t)
}

// TestVP8ConfigKeys: invalid VP8 keys are named.
func TestVP8ConfigKeys(t *testing.T) {
	for _, c := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.VP8.CPUUsed = 17 }, "vp8.cpu_used"},
		{func(c *Config) { c.VP8.CPUUsed = -1 }, "vp8.cpu_used"},
		{func(c *Config) { c.VP8.Threads = -1 }, "vp8.threads"},
	} {
		cfg := DefaultConfig()
		c.mut(&cfg)
		if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%v, want an error naming %s", err, c.want)
		}
	}
	if !DefaultConfig().VP8.Enabled {
		t.Error("VP8 is off by default: a viewer without H.264 could not watch")
	}
}
