package transcode

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/gpu/cpu"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// startMutateHub returns a hub whose pipelines start with deps and are sent
// on the channel as they start.
func startMutateHub(cfg Config, deps Deps) (*stream.Hub, <-chan *Pipeline) {
	log := testLogger()
	pipes := make(chan *Pipeline, 4)
	hub := stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
		p, err := StartWith(pub, cfg, deps, log)
		if err == nil {
			pipes <- p
		}
		return p, err
	}, log)
	return hub, pipes
}

// lumaMeans decodes H.264 packets (no B-frames) and returns the mean luma
// of each frame, in packet order.
func lumaMeans(tb testing.TB, pkts []*stream.Packet) []float64 {
	tb.Helper()
	var out []float64
	decodeH264(tb, pkts, func(f *astiav.Frame) { out = append(out, meanY(tb, f)) })
	return out
}

// decodeH264 decodes H.264 packets (no B-frames) and calls fn with each
// frame, in packet order.
func decodeH264(tb testing.TB, pkts []*stream.Packet, fn func(*astiav.Frame)) {
	tb.Helper()
	decodeWith(tb, "h264", pkts, fn)
}

// meanY is the mean of f's luma plane.
func meanY(tb testing.TB, f *astiav.Frame) float64 {
	tb.Helper()
	format := gpu.YUV420P // only the Y plane is read
	if f.PixelFormat() == astiav.PixelFormatNv12 {
		format = gpu.NV12
	}
	var v gpu.Frame
	if err := writableView(f, format, &v); err != nil {
		tb.Fatal(err)
	}
	sum := 0
	for y := 0; y < v.Height; y++ {
		for _, b := range v.Planes[0][y*v.Strides[0] : y*v.Strides[0]+v.Width] {
			sum += int(b)
		}
	}
	return float64(sum) / float64(v.Width*v.Height)
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// mutationFailures is mediad_mutation_failures_total for a stream and a
// reason, or summed over the reasons when reason is "".
func mutationFailures(t *testing.T, name, reason string) float64 {
	t.Helper()
	reasons := []string{reason}
	if reason == "" {
		reasons = []string{failConvert, failBuild, failApply}
	}
	sum := 0.0
	for _, r := range reasons {
		var m dto.Metric
		if err := metrics.MutationFailures.WithLabelValues(name, r).Write(&m); err != nil {
			t.Fatal(err)
		}
		sum += m.GetCounter().GetValue()
	}
	return sum
}

func mutateCount(t *testing.T) uint64 {
	t.Helper()
	var m dto.Metric
	if err := metrics.MutateSeconds.WithLabelValues("cpu").(interface{ Write(*dto.Metric) error }).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// darkInput is 320x180 video whose luma is well below mid-grey, so an
// inverted picture is told apart by its mean.
func darkInput(t *testing.T, name string, seconds string, args ...string) ([]stream.Track, []*stream.Packet) {
	t.Helper()
	all := append([]string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-vf", "lutyuv=y=val/3",
		"-t", seconds, "-c:v", "libx264", "-preset", "ultrafast", "-g", "30"}, args...)
	return demux(t, makeInput(t, name, all...))
}

// TestMutateChainAtStart runs a chain from the first frame on a yuv444p
// source (converted for the ops): the output is the inverted source, every
// frame's event arrives with the stream's name, and no source rung is
// offered.
func TestMutateChainAtStart(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := darkInput(t, "in444.mkv", "1", "-pix_fmt", "yuv444p", "-profile:v", "high444")
	in := mean(lumaMeans(t, ofKind(pkts, stream.KindVideo)))

	var (
		mu     sync.Mutex
		events []gpu.Event
	)
	deps := Deps{
		Backend: cpu.New(1),
		Chain:   []gpu.Spec{spec("test_invert"), spec("test_events")},
		OnEvent: func(e gpu.Event) { mu.Lock(); events = append(events, e); mu.Unlock() },
	}
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub, _ := startMutateHub(cfg, deps)
	pub, err := hub.Publish("mutA", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	before := mutateCount(t)
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	feeds := waitRungs(t, st)
	if got := rungNames(feeds); !slices.Equal(got, []string{"180p", "180p-lowfps"}) {
		t.Fatalf("rungs = %v, want [180p 180p-lowfps]", got)
	}
	r := feeds[0].Subscribe(4096)
	publishAll(t, pub, pkts[first:])
	waitIdle(t, st, pub)
	outPkts := drain(r)
	// Read before the stream ends: an ended stream's series are deleted.
	if e := mutationFailures(t, "mutA", ""); e != 0 {
		t.Errorf("%v mutation failures", e)
	}
	pub.Close()
	hub.Close()

	out := lumaMeans(t, outPkts)
	if len(out) < 5 { // the reader starts at the keyframe it asked for
		t.Fatalf("%d frames out, want at least 5", len(out))
	}
	got := mean(out)
	t.Logf("mean luma: source %.1f, mutated output %.1f", in, got)
	if in > 100 || got < 155 || got-(255-in) > 12 || (255-in)-got > 12 {
		t.Errorf("mean luma %.1f, want the inverted source's (%.1f)", got, 255-in)
	}
	mu.Lock()
	n := len(events)
	for i, e := range events {
		if e.Stream != "mutA" || e.Type != "test" || (i > 0 && e.PTS <= events[i-1].PTS) {
			t.Fatalf("event %d = %+v, want type test on stream mutA, PTS rising", i, e)
		}
	}
	mu.Unlock()
	if n < 28 {
		t.Errorf("%d events, want one per decoded frame (30)", n)
	}
	if c := mutateCount(t) - before; c < 28 {
		t.Errorf("mediad_mutate_seconds counted %d frames, want 30", c)
	}
	checkFreed(t)
}

// TestSetChainAtRunTime sets a chain on a running pipeline with a source
// rung, tries one that cannot be built, and removes it again.
func TestSetChainAtRunTime(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := darkInput(t, "base.flv", "3", "-profile:v", "baseline")
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub, pipes := startMutateHub(cfg, Deps{Backend: cpu.New(1)})
	pub, err := hub.Publish("mutB", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	pl := <-pipes
	st := pub.Stream()
	split := func(d time.Duration) int {
		return slices.IndexFunc(pkts, func(p *stream.Packet) bool { return p.Kind == stream.KindVideo && p.DTS >= d })
	}
	s1, s2 := split(time.Second), split(2*time.Second)

	first := publishFirstVideo(t, pub, pkts)
	feeds := waitRungs(t, st)
	if got := rungNames(feeds); !slices.Equal(got, []string{"source", "180p", "180p-lowfps"}) {
		t.Fatalf("rungs = %v, want [source 180p 180p-lowfps]", got)
	}
	r := feeds[1].Subscribe(4096)
	publishAll(t, pub, pkts[first:s1])
	waitIdle(t, st, pub)

	// A chain: the source rung leaves, the next frames are mutated.
	if err := pl.SetChain([]gpu.Spec{spec("test_invert")}); err != nil {
		t.Fatal(err)
	}
	// It is Leaving at once, so that its viewers switch with no gap, and
	// leaves the ladder a moment later (the pipeline's tick, with no
	// packets coming).
	select {
	case <-feeds[0].Leaving():
	default:
		t.Error("the source rung is not Leaving once the chain is in force")
	}
	select {
	case <-feeds[0].Gone():
		t.Error("the source rung left the ladder at once: its viewers would wait for a keyframe with nothing to show")
	default:
	}
	waitGone(t, feeds[0], "SetChain(invert)")
	if got := rungNames(st.Rungs()); !slices.Equal(got, []string{"180p", "180p-lowfps"}) {
		t.Errorf("rungs with a chain = %v, want [180p 180p-lowfps]", got)
	}
	pl.SetSourceRung(true) // does not bring the source back while a chain is set

	// A chain that cannot be built: an error, and the old chain stays.
	err = pl.SetChain([]gpu.Spec{spec("test_invert"), spec("test_fail")})
	var ce *gpu.ChainError
	if !errors.As(err, &ce) || ce.Index != 1 || ce.Op != "test_fail" {
		t.Errorf("SetChain(test_fail) = %v, want a *gpu.ChainError for op 1", err)
	}
	publishAll(t, pub, pkts[s1:s2])
	waitIdle(t, st, pub)
	if got := rungNames(st.Rungs()); !slices.Equal(got, []string{"180p", "180p-lowfps"}) {
		t.Errorf("rungs = %v: the source came back while a chain is set", got)
	}

	// No chain: the source rung comes back, frames are not mutated.
	if err := pl.SetChain(nil); err != nil {
		t.Fatal(err)
	}
	waitTop(t, st, "source")
	publishAll(t, pub, pkts[s2:])
	waitIdle(t, st, pub)
	outPkts := drain(r)
	pub.Close()
	hub.Close()
	if err := pl.SetChain(nil); !errors.Is(err, ErrClosed) {
		t.Errorf("SetChain after Close = %v, want ErrClosed", err)
	}

	out := lumaMeans(t, outPkts)
	if len(out) != len(outPkts) || len(out) < 30 || outPkts[0].PTS > time.Second {
		t.Fatalf("%d frames from %d packets from %v, want about 40 from the first second", len(out), len(outPkts), outPkts[0].PTS)
	}
	for i, p := range outPkts {
		inverted := p.PTS >= time.Second && p.PTS < 2*time.Second
		if inverted != (out[i] > 128) {
			t.Errorf("frame at %v: mean luma %.1f, want inverted=%v", p.PTS, out[i], inverted)
		}
	}
	checkFreed(t)
}

// TestMutatorShapes drives the mutator directly: conversion of a format
// the ops do not take, a rebuild when the size changes, a chain that fails
// on a frame (a black frame replaces it, counted: nothing was held under
// the new chain) and a chain that cannot be built for the known size.
func TestMutatorShapes(t *testing.T) {
	defer goleak.VerifyNone(t)
	base := LiveObjects()
	m := newMutator(cpu.New(1), "mutC", nil, testLogger())
	var frames []*astiav.Frame
	release := func() {
		m.close()
		for _, f := range frames {
			free(f)
		}
		frames = nil
	}
	defer release()
	if err := m.set([]gpu.Spec{spec("test_fail")}, 64, 36); err == nil {
		t.Error("set(test_fail) before the first frame: no error")
	}
	if m.active() {
		t.Error("a chain that failed is in force")
	}
	if err := m.set([]gpu.Spec{spec("test_invert")}, 0, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		w, h int
		pf   astiav.PixelFormat
	}{{64, 36, astiav.PixelFormatYuv420P}, {64, 36, astiav.PixelFormatYuv444P}, {128, 72, astiav.PixelFormatNv12}} {
		f := greyFrame(t, c.w, c.h, c.pf, 50)
		frames = append(frames, f)
		out := m.apply(f, 0)
		if out == f {
			t.Errorf("%dx%d %s: frame not mutated", c.w, c.h, c.pf)
		} else if y := meanY(t, out); y != 205 {
			t.Errorf("%dx%d %s: mean luma %.1f, want 205", c.w, c.h, c.pf, y)
		}
		if y := meanY(t, f); y != 50 {
			t.Errorf("%dx%d %s: decoded frame changed (mean luma %.1f)", c.w, c.h, c.pf, y)
		}
		if m.shape.w != c.w || m.shape.h != c.h {
			t.Errorf("chain built for %dx%d, frame %dx%d", m.shape.w, m.shape.h, c.w, c.h)
		}
	}

	if err := m.set([]gpu.Spec{spec("test_fail")}, 0, 0); err == nil {
		t.Error("set(test_fail) after a frame: no error")
	}
	if err := m.set([]gpu.Spec{spec("test_fail_apply")}, 0, 0); err != nil {
		t.Fatal(err)
	}
	errsBefore := mutationFailures(t, "mutC", failApply)
	f := greyFrame(t, 64, 36, astiav.PixelFormatYuv420P, 50)
	frames = append(frames, f)
	if out := m.apply(f, 0); out == f || out == nil || meanY(t, out) != 16 {
		t.Error("a frame the chain failed on is not replaced by a black frame")
	}
	if y := meanY(t, f); y != 50 {
		t.Errorf("decoded frame changed (mean luma %.1f)", y)
	}
	if d := mutationFailures(t, "mutC", failApply) - errsBefore; d != 1 {
		t.Errorf("mutation failures grew by %v, want 1", d)
	}
	if err := m.set(nil, 0, 0); err != nil || m.active() || m.chain != nil {
		t.Errorf("set(nil) = %v; active %v", err, m.active())
	}
	release()
	if n := LiveObjects(); n != base {
		t.Errorf("LiveObjects() = %d after close, want %d", n, base)
	}
}

// greyFrame allocates a w x h frame of pf whose every sample is v.
func greyFrame(t *testing.T, w, h int, pf astiav.PixelFormat, v byte) *astiav.Frame {
	t.Helper()
	f, err := allocFrame()
	if err != nil {
		t.Fatal(err)
	}
	f.SetWidth(w)
	f.SetHeight(h)
	f.SetPixelFormat(pf)
	if err := f.AllocBuffer(0); err != nil {
		t.Fatal(err)
	}
	format := gpu.YUV420P
	if pf == astiav.PixelFormatNv12 {
		format = gpu.NV12
	}
	var view gpu.Frame
	if err := writableView(f, format, &view); err != nil {
		t.Fatal(err)
	}
	for i := range view.Planes {
		for j := range view.Planes[i] {
			view.Planes[i][j] = v
		}
	}
	return f
}

func TestMeasureChain(t *testing.T) {
	defer goleak.VerifyNone(t)
	d, backend, err := MeasureChain(cpu.New(2), []gpu.Spec{spec("test_invert")}, 320, 180, 5)
	if err != nil || d <= 0 || backend != "cpu" {
		t.Fatalf("MeasureChain = %v, %q, %v; want a positive duration on cpu", d, backend, err)
	}
	if _, _, err := MeasureChain(cpu.New(1), []gpu.Spec{spec("test_fail")}, 320, 180, 5); err == nil {
		t.Error("MeasureChain(test_fail): no error")
	}
	if _, _, err := MeasureChain(cpu.New(1), []gpu.Spec{spec("test_invert")}, 641, 361, 3); err != nil {
		t.Errorf("MeasureChain at an odd size: %v", err)
	}
	if _, _, err := MeasureChain(cpu.New(1), nil, 0, 180, 5); err == nil {
		t.Error("MeasureChain at an empty size: no error")
	}
}
