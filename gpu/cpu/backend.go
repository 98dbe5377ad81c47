// Package cpu is the reference backend of the gpu package: every op in pure
// Go, parallel over bands of rows, with no allocation per frame.
package cpu

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/mutstream/mutstream/gpu"
)

// Op is one op prepared for the CPU. It may keep state across frames
// (analysis does); Apply runs on one goroutine at a time.
type Op interface {
	Apply(f *gpu.Frame, info gpu.FrameInfo, pool *Pool) error
}

// Factory prepares an op's parameters for frames of a size and format.
type Factory func(p gpu.Params, width, height int, format gpu.PixelFormat) (Op, error)

var (
	facMu     sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes the CPU backend able to run the op called name.
func Register(name string, f Factory) {
	facMu.Lock()
	factories[name] = f
	facMu.Unlock()
}

// Backend runs chains on the CPU.
type Backend struct {
	workers int
}

var _ gpu.Backend = (*Backend)(nil)

// New returns a CPU backend using workers goroutines per chain (0 means
// GOMAXPROCS).
func New(workers int) *Backend {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &Backend{workers: workers}
}

// Name returns "cpu".
func (b *Backend) Name() string { return "cpu" }

// NewChain prepares specs for frames of width x height in format.
func (b *Backend) NewChain(specs []gpu.Spec, width, height int, format gpu.PixelFormat) (gpu.Chain, error) {
	c := &chain{pool: NewPool(b.workers)}
	for i, s := range specs {
		facMu.RLock()
		f, ok := factories[s.Op]
		facMu.RUnlock()
		if !ok {
			c.Close()
			return nil, &gpu.ChainError{Index: i, Op: s.Op, Msg: "not supported by the CPU backend"}
		}
		op, err := f(s.Params, width, height, format)
		if err != nil {
			c.Close()
			return nil, &gpu.ChainError{Index: i, Op: s.Op, Msg: err.Error()}
		}
		c.ops = append(c.ops, op)
	}
	return c, nil
}

type chain struct {
	ops  []Op
	pool *Pool
}

func (c *chain) Apply(f *gpu.Frame, info gpu.FrameInfo) error {
	if err := f.Check(); err != nil {
		return err
	}
	if f.Planes[0] == nil {
		return fmt.Errorf("the CPU backend needs a host frame")
	}
	for _, op := range c.ops {
		if err := op.Apply(f, info, c.pool); err != nil {
			return err
		}
	}
	return nil
}

func (c *chain) Close() { c.pool.Close() }
