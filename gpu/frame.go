package gpu

import (
	"fmt"
	"time"
)

// PixelFormat is the layout of a frame's planes.
type PixelFormat int

// Pixel formats the ops work on.
const (
	// YUV420P: Y plane, then U and V planes at half width and height.
	YUV420P PixelFormat = iota + 1
	// NV12: Y plane, then one plane of interleaved U,V at half height.
	NV12
)

// String names the format as FFmpeg does.
func (p PixelFormat) String() string {
	switch p {
	case YUV420P:
		return "yuv420p"
	case NV12:
		return "nv12"
	}
	return fmt.Sprintf("pixfmt(%d)", int(p))
}

// Frame is one picture's planes, which a backend may change in place.
// Host frames carry Planes; device frames (CUDA) carry Device pointers.
type Frame struct {
	Format  PixelFormat
	Width   int
	Height  int
	Planes  [3][]byte  // host memory: Y, U, V (YUV420P) or Y, UV (NV12)
	Strides [3]int     // bytes per row of each plane
	Device  [3]uintptr // device memory (CUDA), when Planes are nil
}

// Check reports whether the frame's planes are large enough for its size.
func (f *Frame) Check() error {
	if f.Width <= 0 || f.Height <= 0 || f.Width%2 != 0 || f.Height%2 != 0 {
		return fmt.Errorf("frame size %dx%d: must be even and > 0", f.Width, f.Height)
	}
	if f.Planes[0] == nil {
		return nil // device frame
	}
	need := func(i, w, h int) error {
		if f.Strides[i] < w || len(f.Planes[i]) < f.Strides[i]*(h-1)+w {
			return fmt.Errorf("plane %d too small for %dx%d (stride %d, %d bytes)", i, w, h, f.Strides[i], len(f.Planes[i]))
		}
		return nil
	}
	cw, ch := f.Width/2, f.Height/2
	switch f.Format {
	case YUV420P:
		for i, wh := range [][2]int{{f.Width, f.Height}, {cw, ch}, {cw, ch}} {
			if err := need(i, wh[0], wh[1]); err != nil {
				return err
			}
		}
	case NV12:
		if err := need(0, f.Width, f.Height); err != nil {
			return err
		}
		if err := need(1, f.Width, ch); err != nil {
			return err
		}
	default:
		return fmt.Errorf("pixel format %v not supported", f.Format)
	}
	return nil
}

// NewFrame allocates a host frame, for tests and benchmarks.
func NewFrame(format PixelFormat, w, h int) *Frame {
	f := &Frame{Format: format, Width: w, Height: h}
	f.Strides[0] = w
	f.Planes[0] = make([]byte, w*h)
	switch format {
	case YUV420P:
		for i := 1; i <= 2; i++ {
			f.Strides[i] = w / 2
			f.Planes[i] = make([]byte, w/2*h/2)
		}
	case NV12:
		f.Strides[1] = w
		f.Planes[1] = make([]byte, w*h/2)
	}
	return f
}

// FrameInfo is what an op may know about the frame it runs on.
type FrameInfo struct {
	// Stream is the stream's name, for {stream} in text.
	Stream string
	// PTS is the frame's presentation time on the stream's timeline.
	PTS time.Duration
	// Wall is the server's clock when the frame is mutated, for {clock}
	// and the stamp op.
	Wall time.Time
	// Emit receives the events analysis finds; nil drops them.
	Emit func(Event)
	// Measured receives each frame's measures from an analyze op; nil
	// drops them.
	Measured func(Measure)
}

// Event is something analysis found in the stream.
type Event struct {
	// Type is scene_cut, black or frozen.
	Type string `json:"type"`
	// Stream is the stream's name.
	Stream string `json:"stream"`
	// PTS is when it happened, in seconds on the stream's timeline (for
	// black and frozen: when the section ended).
	PTS float64 `json:"pts"`
	// From and To bound a section (black, frozen), in seconds; nil for
	// the other events (a section may start at 0).
	From *float64 `json:"from,omitempty"`
	To   *float64 `json:"to,omitempty"`
	// Score is the measure behind it (scene-cut score).
	Score float64 `json:"score,omitempty"`
}
