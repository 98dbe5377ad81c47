package transcode

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/gpu/cpu"
	"github.com/mutstream/mutstream/stream"
)

// vp8Input is secs seconds of 640x360 VP8 as a browser publisher sends it
// (a key frame every second).
func vp8Input(t *testing.T, secs string) ([]stream.Track, []*stream.Packet) {
	t.Helper()
	tracks, pkts := demux(t, makeInput(t, "in.webm",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", secs, "-pix_fmt", "yuv420p",
		"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M", "-g", "30"))
	if vt := videoTrack(t, tracks); vt.Codec != stream.CodecVP8 {
		t.Fatalf("source track %+v, want vp8", vt)
	}
	return tracks, pkts
}

// TestVP8SourcePassthrough: a VP8 publisher's video reaches VP8 readers of
// the "source" rung untouched, keyframe requests on it go to the publisher,
// and H.264 viewers get transcoded rungs (no H.264 source rung).
func TestVP8SourcePassthrough(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := vp8Input(t, "3")
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

// TestVP8SourceNotWithChain: a VP8 publisher's stream under a mutation
// chain offers no VP8 source rung: viewers never see the unmutated source.
func TestVP8SourceNotWithChain(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := vp8Input(t, "1")
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub, _ := startMutateHub(cfg, Deps{Backend: cpu.New(1), Chain: []gpu.Spec{spec("test_invert")}})
	pub, err := hub.Publish("vp8chain", "whip", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	publishFirstVideo(t, pub, pkts)
	waitRungs(t, st)
	want := []string{"360p/h264", "180p/h264", "180p-lowfps/h264", "360p/vp8", "180p/vp8", "180p-lowfps/vp8"}
	if got := feedNames(st); !slices.Equal(got, want) {
		t.Errorf("feeds %v, want %v (no VP8 source under a chain)", got, want)
	}
	pub.Close()
	hub.Close()
	checkFreed(t)
}

// TestVP8SourceResize: a browser publisher that lowers its resolution at a
// key frame gets a new VP8 source feed at the new size (the old one is
// Gone) and a ladder re-planned for it, in both codecs.
func TestVP8SourceResize(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, big := vp8Input(t, "2")
	_, small := demux(t, makeInput(t, "small.webm",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-t", "2", "-pix_fmt", "yuv420p",
		"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k", "-g", "30"))
	for _, p := range small {
		p.PTS += 2 * time.Second
		p.DTS += 2 * time.Second
	}
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub := newTestHub(cfg)
	pub, err := hub.Publish("vp8resize", "whip", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	first := publishFirstVideo(t, pub, big)
	waitRungs(t, st)
	old, err := st.RungFor("source", stream.CodecVP8)
	if err != nil || old.Info().Width != 640 {
		t.Fatalf("VP8 source %+v (%v), want 640 wide", old.Info(), err)
	}
	publishAll(t, pub, big[first:])
	publishAll(t, pub, small)
	waitIdle(t, st, pub)
	waitGone(t, old, "640x360 VP8 source")
	src, err := st.RungFor("source", stream.CodecVP8)
	if err != nil || src.Info().Width != 320 || src.Info().Height != 180 {
		t.Errorf("VP8 source after the resize: %+v (%v), want 320x180", src.Info(), err)
	}
	want := []string{"180p/h264", "180p-lowfps/h264", "source/vp8", "180p/vp8", "180p-lowfps/vp8"}
	if got := feedNames(st); !slices.Equal(got, want) {
		t.Errorf("feeds %v, want %v", got, want)
	}
	pub.Close()
	hub.Close()
	checkNoSeries(t, "vp8resize")
	checkFreed(t)
}

// TestVP8KeyframeSize reads sizes from VP8 key frame headers.
func TestVP8KeyframeSize(t *testing.T) {
	key := []byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0, 0}
	if w, h, ok := stream.VP8KeyframeSize(key); !ok || w != 640 || h != 360 {
		t.Errorf("key frame: %dx%d %v, want 640x360", w, h, ok)
	}
	scaled := slices.Clone(key)
	scaled[7] |= 0x40 // horizontal scale bits are not part of the width
	if w, _, ok := stream.VP8KeyframeSize(scaled); !ok || w != 640 {
		t.Errorf("scaled key frame: width %d, want 640", w)
	}
	inter := slices.Clone(key)
	inter[0] |= 1
	for name, b := range map[string][]byte{"interframe": inter, "short": key[:9], "no start code": append([]byte{0x50, 0x42, 0, 0, 0, 0}, key[6:]...)} {
		if _, _, ok := stream.VP8KeyframeSize(b); ok {
			t.Errorf("%s: a size was read", name)
		}
	}
}
