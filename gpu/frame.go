package gpu

import (
	"fmt"
	"time"
)

// PixelFormat is the layout of a frame's planes.
type PixelFormat int

// Pixel formats the ops work on.
const (
	// YUV420P: Y plane, then U and V planes at half width and height
	// (rounded up: ChromaSize).
	YUV420P PixelFormat = iota + 1
	// NV12: Y plane, then one plane of interleaved U,V at half height
	// (rounded up), ChromaSize pairs a row.
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

// ChromaSize is the size of the chroma planes of a w x h 4:2:0 frame:
// half of each side rounded up, as FFmpeg lays out an odd-sized frame
// (641x361 has 321x181 chroma samples; the last column and row of chroma
// cover one luma column or row).
func ChromaSize(w, h int) (cw, ch int) { return (w + 1) / 2, (h + 1) / 2 }

// Check reports whether the frame's planes are large enough for its size.
// Any size from 1x1 works, odd ones included.
func (f *Frame) Check() error {
	if f.Width <= 0 || f.Height <= 0 {
		return fmt.Errorf("frame size %dx%d: must be > 0", f.Width, f.Height)
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
	cw, ch := ChromaSize(f.Width, f.Height)
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
		if err := need(1, 2*cw, ch); err != nil {
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
	cw, ch := ChromaSize(w, h)
	switch format {
	case YUV420P:
		for i := 1; i <= 2; i++ {
			f.Strides[i] = cw
			f.Planes[i] = make([]byte, cw*ch)
		}
	case NV12:
		f.Strides[1] = 2 * cw
		f.Planes[1] = make([]byte, 2*cw*ch)
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
