//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"sync"

	"github.com/mutstream/mutstream/gpu"
	"gorgonia.org/cu"
)

// Backend runs chains as CUDA kernels on device 0, in its primary context.
type Backend struct {
	dev  *gpuDevice
	mods *modules

	mu     sync.Mutex
	closed bool
}

var _ gpu.Backend = (*Backend)(nil)

// ErrClosed is returned by a Backend used after Close.
var ErrClosed = errors.New("cuda: backend closed")

// New retains the primary context of device 0 and compiles the kernels
// with NVRTC for its compute capability (or the newest architecture NVRTC
// knows, for a GPU newer than the toolkit), then loads them.
func New() (*Backend, error) {
	dev, err := openDevice(0)
	if err != nil {
		return nil, err
	}
	b := &Backend{dev: dev}
	err = dev.do(func() error {
		m, err := loadModules(dev.major, dev.minor)
		b.mods = m
		return err
	})
	if err != nil {
		_ = dev.release()
		return nil, err
	}
	return b, nil
}

// Name returns "cuda".
func (b *Backend) Name() string { return "cuda" }

// DeviceName names the GPU and its compute capability, such as
// "NVIDIA H100 80GB HBM3 (compute 9.0, PTX compute_90)".
func (b *Backend) DeviceName() string {
	return fmt.Sprintf("%s (compute %s, PTX %s)", b.dev.name, b.dev.cc(), b.mods.arch)
}

// Close unloads the kernels and releases the primary context. Chains must
// be closed first.
func (b *Backend) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	_ = b.dev.do(func() error {
		b.mods.unload()
		return nil
	})
	_ = b.dev.release()
}

// NewChain prepares specs for frames of width x height in format: it
// builds each op's tables, weights and buffers and uploads them. An op
// with no CUDA kernel is a *gpu.ChainError, so that the caller runs the
// chain on the CPU instead.
func (b *Backend) NewChain(specs []gpu.Spec, width, height int, format gpu.PixelFormat) (gpu.Chain, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if format != gpu.NV12 && format != gpu.YUV420P {
		return nil, &gpu.ChainError{Index: -1, Msg: fmt.Sprintf("pixel format %v not supported by the CUDA backend", format)}
	}
	if width <= 0 || height <= 0 {
		return nil, &gpu.ChainError{Index: -1, Msg: fmt.Sprintf("frame size %dx%d: must be > 0", width, height)}
	}
	for i, s := range specs {
		if _, ok := factories[s.Op]; !ok {
			return nil, &gpu.ChainError{Index: i, Op: s.Op, Msg: "not supported by the CUDA backend"}
		}
	}
	c := &chain{b: b, w: width, h: height, format: format}
	err := b.dev.do(func() error {
		s, err := cu.MakeStream(cu.DefaultStream)
		if err != nil {
			return fmt.Errorf("cuda: create a stream: %w", err)
		}
		c.l = launcher{stream: s, mods: b.mods}
		for i, s := range specs {
			o, err := factories[s.Op](s.Params, width, height, format)
			if err != nil {
				return &gpu.ChainError{Index: i, Op: s.Op, Msg: err.Error()}
			}
			c.ops = append(c.ops, o)
		}
		return nil
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
