package cpu

import (
	"math"
	"testing"
	"time"

	"github.com/mutstream/mutstream/gpu"
)

// formats are the pixel formats every op is tested on.
var formats = []gpu.PixelFormat{gpu.YUV420P, gpu.NV12}

// padByte fills the bytes of each row beyond the picture, which no op may
// touch.
const padByte = 0xEE

// testFrame returns a w x h frame whose rows are padded by 6 bytes, with
// sample (x, y) of component c (0 Y, 1 U, 2 V) set to fill(c, x, y).
func testFrame(format gpu.PixelFormat, w, h int, fill func(c, x, y int) byte) *gpu.Frame {
	f := &gpu.Frame{Format: format, Width: w, Height: h}
	alloc := func(i, rowBytes, rows int) {
		f.Strides[i] = rowBytes + 6
		f.Planes[i] = make([]byte, f.Strides[i]*rows)
		for j := range f.Planes[i] {
			f.Planes[i][j] = padByte
		}
	}
	alloc(0, w, h)
	cw, ch := gpu.ChromaSize(w, h)
	if format == gpu.YUV420P {
		alloc(1, cw, ch)
		alloc(2, cw, ch)
	} else {
		alloc(1, 2*cw, ch)
	}
	for c := range 3 {
		cw, ch := compSize(f, c)
		for y := range ch {
			for x := range cw {
				*at(f, c, x, y) = fill(c, x, y)
			}
		}
	}
	return f
}

// compSize is the size of component c of f in samples.
func compSize(f *gpu.Frame, c int) (int, int) {
	if c == 0 {
		return f.Width, f.Height
	}
	return gpu.ChromaSize(f.Width, f.Height)
}

// at points at sample (x, y) of component c (0 Y, 1 U, 2 V) of f.
func at(f *gpu.Frame, c, x, y int) *byte {
	switch {
	case c == 0:
		return &f.Planes[0][y*f.Strides[0]+x]
	case f.Format == gpu.NV12:
		return &f.Planes[1][y*f.Strides[1]+2*x+c-1]
	default:
		return &f.Planes[c][y*f.Strides[c]+x]
	}
}

// cloneFrame copies f with its planes.
func cloneFrame(f *gpu.Frame) *gpu.Frame {
	g := *f
	for i, p := range f.Planes {
		if p != nil {
			g.Planes[i] = append([]byte(nil), p...)
		}
	}
	return &g
}

// checkPadding fails when a byte beyond the picture in a row changed.
func checkPadding(t *testing.T, f *gpu.Frame) {
	t.Helper()
	for i, p := range f.Planes {
		if p == nil {
			continue
		}
		rowBytes := f.Width
		if cw, _ := gpu.ChromaSize(f.Width, f.Height); i > 0 && f.Format == gpu.YUV420P {
			rowBytes = cw
		} else if i > 0 {
			rowBytes = 2 * cw
		}
		for j, v := range p {
			if j%f.Strides[i] >= rowBytes && v != padByte {
				t.Fatalf("plane %d byte %d beyond the picture changed to %d", i, j, v)
			}
		}
	}
}

// prepare parses one op's JSON and prepares it for the CPU.
func prepare(t testing.TB, js string, w, h int, format gpu.PixelFormat) Op {
	t.Helper()
	specs, err := gpu.ParseChain([]byte("["+js+"]"), gpu.Env{Limits: gpu.DefaultLimits()})
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	facMu.RLock()
	fac := factories[specs[0].Op]
	facMu.RUnlock()
	op, err := fac(specs[0].Params, w, h, format)
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return op
}

// apply runs op on f with a pool of workers.
func apply(t testing.TB, op Op, f *gpu.Frame, workers int) {
	t.Helper()
	pool := NewPool(workers)
	defer pool.Close()
	if err := op.Apply(f, gpu.FrameInfo{}, pool); err != nil {
		t.Fatal(err)
	}
}

// pattern gives every component a different spread of values.
func pattern(c, x, y int) byte { return byte((x*37 + y*101 + c*59 + x*y*7) % 256) }

// wantColor is the documented color formula, written out on its own.
func wantColor(c int, v byte, bright, contrast, sat, gamma float64) byte {
	if c > 0 {
		o := math.Round(128 + sat*(float64(v)-128))
		return byte(math.Max(0, math.Min(255, o)))
	}
	lin := (contrast*(float64(v)-128) + 128) / 255
	lin += bright
	lin = math.Max(0, math.Min(1, lin))
	o := math.Round(255 * math.Pow(lin, 1/gamma))
	return byte(math.Max(0, math.Min(255, o)))
}

func TestColorGolden(t *testing.T) {
	cases := []struct {
		js                           string
		bright, contrast, sat, gamma float64
	}{
		{`{"op":"color"}`, 0, 1, 1, 1},
		{`{"op":"color","brightness":0.1}`, 0.1, 1, 1, 1},
		{`{"op":"color","brightness":-0.5,"contrast":2}`, -0.5, 2, 1, 1},
		{`{"op":"color","saturation":0}`, 0, 1, 0, 1},
		{`{"op":"color","saturation":2.5,"gamma":2.2}`, 0, 1, 2.5, 2.2},
		{`{"op":"color","contrast":0.3,"gamma":0.4,"brightness":0.2,"saturation":0.5}`, 0.2, 0.3, 0.5, 0.4},
	}
	for _, format := range formats {
		for _, size := range [][2]int{{16, 8}, {64, 36}, {17, 9}} {
			for _, c := range cases {
				w, h := size[0], size[1]
				op := prepare(t, c.js, w, h, format)
				f := testFrame(format, w, h, pattern)
				apply(t, op, f, 3)
				checkPadding(t, f)
				for comp := range 3 {
					cw, ch := compSize(f, comp)
					for y := range ch {
						for x := range cw {
							want := wantColor(comp, pattern(comp, x, y), c.bright, c.contrast, c.sat, c.gamma)
							if got := *at(f, comp, x, y); got != want {
								t.Fatalf("%v %dx%d %s: component %d (%d,%d) from %d: got %d want %d", format, w, h, c.js, comp, x, y, pattern(comp, x, y), got, want)
							}
						}
					}
				}
			}
		}
	}
}

func TestColorTablesFullRange(t *testing.T) {
	p := &gpu.ColorParams{Brightness: 0.05, Contrast: 1.3, Saturation: 1.7, Gamma: 0.8}
	luma, chroma := p.Tables()
	for i := range 256 {
		if w := wantColor(0, byte(i), 0.05, 1.3, 1.7, 0.8); luma[i] != w {
			t.Errorf("luma[%d] = %d, want %d", i, luma[i], w)
		}
		if w := wantColor(1, byte(i), 0.05, 1.3, 1.7, 0.8); chroma[i] != w {
			t.Errorf("chroma[%d] = %d, want %d", i, chroma[i], w)
		}
	}
	id := &gpu.ColorParams{Contrast: 1, Saturation: 1, Gamma: 1}
	luma, chroma = id.Tables()
	for i := range 256 {
		if luma[i] != byte(i) || chroma[i] != byte(i) {
			t.Fatalf("defaults are not the identity at %d: %d %d", i, luma[i], chroma[i])
		}
	}
}

// TestNoAllocs checks that Apply of every op allocates nothing per frame.
func TestNoAllocs(t *testing.T) {
	ops := []string{
		`{"op":"color","brightness":0.1,"saturation":1.5}`,
		`{"op":"blur","radius":5,"rect":[0.1,0.1,0.5,0.5]}`,
		`{"op":"blur","radius":5,"kind":"box"}`,
		`{"op":"pixelate","block":8,"rect":[0.2,0.2,0.6,0.6]}`,
		`{"op":"analyze","min_duration":0}`,
	}
	for _, format := range formats {
		pool := NewPool(2)
		for _, js := range ops {
			op := prepare(t, js, 64, 36, format)
			f := testFrame(format, 64, 36, pattern)
			n := 0
			info := gpu.FrameInfo{Stream: "s", Emit: func(gpu.Event) {}}
			allocs := testing.AllocsPerRun(20, func() {
				n++
				info.PTS = time.Duration(n) * 40 * time.Millisecond
				if err := op.Apply(f, info, pool); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v %s: %v allocations per Apply", format, js, allocs)
			}
		}
		pool.Close()
	}
}
