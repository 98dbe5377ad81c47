package transcode

import (
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/gpu/cpu"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// decodeWith decodes packets with FFmpeg's decoder name and calls fn with
// each frame, in packet order; it fails tb on any packet refused.
func decodeWith(tb testing.TB, name string, pkts []*stream.Packet, fn func(*astiav.Frame)) {
	tb.Helper()
	codec := astiav.FindDecoderByName(name)
	cc := astiav.AllocCodecContext(codec)
	defer cc.Free()
	if err := cc.Open(codec, nil); err != nil {
		tb.Fatal(err)
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	f := astiav.AllocFrame()
	defer f.Free()
	recv := func() {
		for {
			f.Unref()
			if err := cc.ReceiveFrame(f); err != nil {
				return
			}
			fn(f)
		}
	}
	for i, p := range pkts {
		pkt.Unref()
		if err := pkt.FromData(append(append([]byte(nil), p.Data...), make([]byte, 64)...)); err != nil {
			tb.Fatal(err)
		}
		pkt.SetSize(len(p.Data))
		if err := cc.SendPacket(pkt); err != nil {
			tb.Fatalf("%s packet %d (PTS %v, key %v): %v", name, i, p.PTS, p.Keyframe, err)
		}
		recv()
	}
	_ = cc.SendPacket(nil)
	recv()
}

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
	rv.Close()
	written, _ := v360.Stats()
	publishAll(t, pub, pkts[split:])
	waitIdle(t, st, pub)
	objs := LiveObjects()
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

// TestVP8SourcePassthrough: a VP8 publisher's video reaches VP8 readers of
// the "source" rung untouched, keyframe requests on it go to the publisher,
// and H.264 viewers get transcoded rungs (no H.264 source rung).
func TestVP8SourcePassthrough(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := demux(t, makeInput(t, "in.webm",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "3", "-pix_fmt", "yuv420p",
		"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M", "-g", "30"))
	if vt := videoTrack(t, tracks); vt.Codec != stream.CodecVP8 {
		t.Fatalf("source track %+v, want vp8", vt)
	}
	video := ofKind(pkts, stream.KindVideo)
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub := newTestHub(cfg)
	pub, err := hub.Publish("vp8src", "whip", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int32
	pub.SetKeyframeRequester(func() { asked.Add(1) })
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	waitRungs(t, st)
	want := []string{"360p/h264", "180p/h264", "180p-lowfps/h264", "source/vp8", "360p/vp8", "180p/vp8", "180p-lowfps/vp8"}
	if got := feedNames(st); !slices.Equal(got, want) {
		t.Fatalf("feeds %v, want %v", got, want)
	}
	src, _ := st.RungFor("", stream.CodecVP8)
	if in := src.Info(); in.Name != "source" || in.Codec != stream.CodecVP8 || in.Width != 640 || in.Height != 360 {
		t.Errorf("VP8 top rung %+v, want the 640x360 VP8 source", in)
	}
	if _, err := st.Rung("source"); !errors.Is(err, stream.ErrNoSuchRung) {
		t.Errorf("H.264 source rung of a VP8 publisher: %v, want ErrNoSuchRung", err)
	}
	before := asked.Load()
	rs := src.Subscribe(4096)
	if asked.Load() == before {
		t.Error("a reader of the VP8 source asked the publisher for no keyframe")
	}
	h360, _ := st.Rung("360p")
	rh := h360.Subscribe(4096)
	publishAll(t, pub, pkts[first:])
	waitIdle(t, st, pub)
	got, gotH := drain(rs), drain(rh)
	rs.Close()
	rh.Close()
	pub.Close()
	hub.Close()
	// The reader starts at the first keyframe written after it came: the
	// source's second one (the first went with the ladder).
	sameTail(t, "VP8 source rung", got, video)
	if n, w, h, errs := decodeVideo(t, gotH); errs > 0 || n < 60 || w != 640 || h != 360 {
		t.Errorf("H.264 360p of a VP8 source: %d frames %dx%d, %d errors", n, w, h, errs)
	}
	checkNoSeries(t, "vp8src")
	checkFreed(t)
}

// TestVP8KeyframeSize reads sizes from VP8 key frame headers.
func TestVP8KeyframeSize(t *testing.T) {
	key := []byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0, 0}
	if w, h, ok := vp8KeyframeSize(key); !ok || w != 640 || h != 360 {
		t.Errorf("key frame: %dx%d %v, want 640x360", w, h, ok)
	}
	scaled := slices.Clone(key)
	scaled[7] |= 0x40 // horizontal scale bits are not part of the width
	if w, _, ok := vp8KeyframeSize(scaled); !ok || w != 640 {
		t.Errorf("scaled key frame: width %d, want 640", w)
	}
	inter := slices.Clone(key)
	inter[0] |= 1
	for name, b := range map[string][]byte{"interframe": inter, "short": key[:9], "no start code": append([]byte{0x50, 0x42, 0, 0, 0, 0}, key[6:]...)} {
		if _, _, ok := vp8KeyframeSize(b); ok {
			t.Errorf("%s: a size was read", name)
		}
	}
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
	tw, err := newVP8Twin("vp8rt", r, 640, 360, cfg)
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
	tw, err := newVP8Twin("vp8life", plannedRung{Rung: Rung{Name: "180p", Width: 320, Height: 180, FPS: 30, Bitrate: 250_000}}, 320, 180, DefaultConfig())
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
