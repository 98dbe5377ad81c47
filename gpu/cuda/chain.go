//go:build cuda

package cuda

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
	"gorgonia.org/cu"
)

// planes are a frame's planes in device memory: Y, then U and V (YUV420P)
// or UV (NV12), with their pitches in bytes.
type planes struct {
	format gpu.PixelFormat
	w, h   int
	ptr    [3]cu.DevicePtr
	pitch  [3]int
}

// op is one op prepared for the GPU. Its methods run with the context
// current; apply queues kernels on the launcher's stream.
type op interface {
	apply(l *launcher, p *planes, info gpu.FrameInfo) error
	close()
}

// factory prepares an op's parameters for frames of a size and format,
// with the context current.
type factory func(p gpu.Params, width, height int, format gpu.PixelFormat) (op, error)

// factories are the ops with CUDA kernels; a chain with any other op is
// refused, and runs on the CPU.
var factories = map[string]factory{
	"color":     newColor,
	"blur":      newBlur,
	"pixelate":  newPixelate,
	"analyze":   newAnalyze,
	"watermark": newWatermark,
	"text":      newText,
	"stamp":     newStamp,
}

// Ops returns the names of the ops the CUDA backend runs.
func Ops() []string {
	out := make([]string, 0, len(factories))
	for n := range factories {
		out = append(out, n)
	}
	return out
}

// chain is a prepared list of ops with its stream and, for host frames,
// device copies of the planes.
type chain struct {
	b      *Backend
	w, h   int
	format gpu.PixelFormat
	l      launcher
	ops    []op
	stage  [3]devBuf // host frames: the planes, uploaded
}

// Apply runs the ops on f. A device frame (f.Device set, such as an NV12
// frame decoded by NVDEC in the primary context) is changed in place. A
// host frame (f.Planes set, decoded on the CPU) is uploaded, changed and
// downloaded again: that path costs two copies per frame and is meant for
// CPU-decoded input on a machine whose GPU runs the mutations.
func (c *chain) Apply(f *gpu.Frame, info gpu.FrameInfo) error {
	if err := f.Check(); err != nil {
		return err
	}
	if f.Width != c.w || f.Height != c.h || f.Format != c.format {
		return fmt.Errorf("cuda: frame is %dx%d %v, chain prepared for %dx%d %v", f.Width, f.Height, f.Format, c.w, c.h, c.format)
	}
	n := 3
	if f.Format == gpu.NV12 {
		n = 2
	}
	return c.b.dev.do(func() error {
		p := planes{format: f.Format, w: f.Width, h: f.Height}
		host := f.Planes[0] != nil
		for i := range n {
			p.pitch[i] = f.Strides[i]
			if !host {
				if f.Device[i] == 0 {
					return fmt.Errorf("cuda: device frame without plane %d", i)
				}
				p.ptr[i] = cu.DevicePtr(f.Device[i])
				continue
			}
			if err := c.stageUpload(i, f.Planes[i]); err != nil {
				return err
			}
			p.ptr[i] = c.stage[i].ptr
		}
		for _, o := range c.ops {
			if err := o.apply(&c.l, &p, info); err != nil {
				return err
			}
		}
		if err := c.l.stream.Synchronize(); err != nil {
			return fmt.Errorf("cuda: run the chain: %w", err)
		}
		if host {
			for i := range n {
				if err := c.stage[i].download(f.Planes[i]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// TakesDevice says that Apply takes device frames: the chain runs on them
// in place, with no copy.
func (c *chain) TakesDevice() bool { return true }

// stageUpload copies a host plane into stage buffer i, growing it when
// the plane is larger than before.
func (c *chain) stageUpload(i int, b []byte) error {
	if int64(len(b)) > c.stage[i].size {
		c.stage[i].free()
		d, err := alloc(int64(len(b)))
		if err != nil {
			return err
		}
		c.stage[i] = d
	}
	return c.stage[i].upload(b)
}

// Close frees the ops' buffers, the staging planes and the stream.
func (c *chain) Close() {
	_ = c.b.dev.do(func() error {
		for _, o := range c.ops {
			o.close()
		}
		c.ops = nil
		for i := range c.stage {
			c.stage[i].free()
		}
		if c.l.stream != (cu.Stream{}) {
			_ = c.l.stream.Destroy()
		}
		return nil
	})
}
