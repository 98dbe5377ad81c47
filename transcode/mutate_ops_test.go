package transcode

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/gpu/cpu"
	"github.com/mutstream/mutstream/metrics"
)

// Test-only ops, so these tests do not depend on the real ones:
// test_invert inverts luma, test_events emits one event per frame,
// test_fail cannot be built, test_fail_apply fails on every frame,
// test_invert_late inverts luma and then fails on frames from 1 s on,
// test_even_only cannot be built for an odd size.
func init() {
	for _, name := range []string{"test_invert", "test_events", "test_fail", "test_fail_apply", "test_invert_late", "test_even_only"} {
		gpu.Register(name, func() gpu.Params { return &testParams{} })
	}
	cpu.Register("test_invert", func(gpu.Params, int, int, gpu.PixelFormat) (cpu.Op, error) { return invertOp{}, nil })
	cpu.Register("test_events", func(gpu.Params, int, int, gpu.PixelFormat) (cpu.Op, error) { return eventOp{}, nil })
	cpu.Register("test_fail", func(gpu.Params, int, int, gpu.PixelFormat) (cpu.Op, error) {
		return nil, errors.New("test_fail never builds")
	})
	cpu.Register("test_fail_apply", func(gpu.Params, int, int, gpu.PixelFormat) (cpu.Op, error) { return failOp{}, nil })
	cpu.Register("test_invert_late", func(gpu.Params, int, int, gpu.PixelFormat) (cpu.Op, error) { return lateFailOp{}, nil })
	cpu.Register("test_even_only", func(_ gpu.Params, w, h int, _ gpu.PixelFormat) (cpu.Op, error) {
		if w%2 != 0 || h%2 != 0 {
			return nil, errors.New("test_even_only: odd size")
		}
		return invertOp{}, nil
	})
}

// lateFailOp inverts luma, and from 1 s on fails after doing so: a frame
// changed in full, which must not reach the output either.
type lateFailOp struct{}

func (lateFailOp) Apply(f *gpu.Frame, info gpu.FrameInfo, pool *cpu.Pool) error {
	if err := (invertOp{}).Apply(f, info, pool); err != nil {
		return err
	}
	if info.PTS >= time.Second {
		return errors.New("test_invert_late fails from 1 s on")
	}
	return nil
}

type testParams struct{}

func (*testParams) Validate(gpu.Env) error { return nil }

// spec returns the test op called name as a chain element.
func spec(name string) gpu.Spec { return gpu.Spec{Op: name, Params: &testParams{}} }

type invertOp struct{}

func (invertOp) Apply(f *gpu.Frame, _ gpu.FrameInfo, _ *cpu.Pool) error {
	for y := 0; y < f.Height; y++ {
		row := f.Planes[0][y*f.Strides[0] : y*f.Strides[0]+f.Width]
		for x, v := range row {
			row[x] = 255 - v
		}
	}
	return nil
}

type eventOp struct{}

func (eventOp) Apply(_ *gpu.Frame, info gpu.FrameInfo, _ *cpu.Pool) error {
	if info.Emit != nil {
		info.Emit(gpu.Event{Type: "test", PTS: info.PTS.Seconds()})
	}
	return nil
}

type failOp struct{}

func (failOp) Apply(f *gpu.Frame, _ gpu.FrameInfo, _ *cpu.Pool) error {
	f.Planes[0][0] = 0 // a partial change, which must not reach the output
	return errors.New("test_fail_apply fails")
}

// TestAnalyzeGauges: an analyze op's measures of the latest frame show in
// the stream's gauges, which go away with the op.
func TestAnalyzeGauges(t *testing.T) {
	m := newMutator(cpu.New(1), "gaugecam", nil, testLogger())
	defer m.close()
	specs, err := gpu.ParseChain([]byte(`[{"op":"analyze","subsample":1}]`), gpu.Env{Limits: gpu.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.set(specs, 64, 48); err != nil {
		t.Fatal(err)
	}
	for i, v := range []byte{100, 60} {
		f := greyFrame(t, 64, 48, astiav.PixelFormatYuv420P, v)
		m.apply(f, int64(i)*3000)
		free(f)
	}
	luma := testutil.ToFloat64(metrics.AnalyzeLuma.WithLabelValues("gaugecam"))
	motion := testutil.ToFloat64(metrics.AnalyzeMotion.WithLabelValues("gaugecam"))
	scene := testutil.ToFloat64(metrics.AnalyzeSceneScore.WithLabelValues("gaugecam"))
	if luma != 60 || math.Abs(motion-40.0/255) > 1e-9 || scene != 1 {
		t.Errorf("gauges luma %v motion %v scene %v, want 60, 40/255 and 1 (a grey 100 then a grey 60)", luma, motion, scene)
	}
	if err := m.set(nil, 64, 48); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(metrics.AnalyzeLuma, "mediad_analyze_mean_luma"); n != 0 {
		t.Errorf("%d luma series left after the chain lost its analyze op", n)
	}
}
