package transcode

import (
	"errors"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/gpu/cpu"
)

// Test-only ops, so these tests do not depend on the real ones:
// test_invert inverts luma, test_events emits one event per frame,
// test_fail cannot be built, test_fail_apply fails on every frame.
func init() {
	for _, name := range []string{"test_invert", "test_events", "test_fail", "test_fail_apply"} {
		gpu.Register(name, func() gpu.Params { return &testParams{} })
	}
	cpu.Register("test_invert", func(gpu.Params, int, int, gpu.PixelFormat) (cpu.Op, error) { return invertOp{}, nil })
	cpu.Register("test_events", func(gpu.Params, int, int, gpu.PixelFormat) (cpu.Op, error) { return eventOp{}, nil })
	cpu.Register("test_fail", func(gpu.Params, int, int, gpu.PixelFormat) (cpu.Op, error) {
		return nil, errors.New("test_fail never builds")
	})
	cpu.Register("test_fail_apply", func(gpu.Params, int, int, gpu.PixelFormat) (cpu.Op, error) { return failOp{}, nil })
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
