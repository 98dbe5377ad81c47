//go:build cuda

package cuda

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/gpu/cpu"
	"gorgonia.org/cu"
)

// This file needs a GPU: gorgonia.org/cu exits the test binary in its init
// without one. gpu/cuda/gputest runs it in a child process only where
// /dev/nvidia0 exists, and skips with a message elsewhere.

// opCases are chains of one op each, with parameters that exercise rects,
// edges and rounding; every op of factories has at least one.
var opCases = []struct{ name, json string }{
	{"color", `[{"op":"color","brightness":0.1,"contrast":1.3,"saturation":1.6,"gamma":1.4}]`},
	{"color-identity", `[{"op":"color"}]`},
	{"blur-gaussian", `[{"op":"blur","radius":5,"rect":[0.1,0.2,0.5,0.6]}]`},
	{"blur-gaussian-full", `[{"op":"blur","radius":12}]`},
	{"blur-box", `[{"op":"blur","kind":"box","radius":7,"rect":[0.3,0,0.7,1]}]`},
	{"pixelate", `[{"op":"pixelate","block":10,"rect":[0.05,0.1,0.7,0.5]}]`},
	{"pixelate-full", `[{"op":"pixelate"}]`},
	{"watermark", `[{"op":"watermark","image":"wm.png","opacity":0.7,"scale":0.3,"at":"bottom-left"}]`},
	{"watermark-opaque", `[{"op":"watermark","image":"wm.png","scale":0.5}]`},
	{"analyze", `[{"op":"analyze","subsample":3}]`},
	{"text", `[{"op":"text","text":"{stream} {pts} {clock}","at":"top-right","size":0.08,"color":"#ffe000","background":"#202080","opacity":0.8}]`},
	{"text-static", `[{"op":"text","text":"Live: Ünïcode {x} ok","size":0.12,"at":"center"}]`},
	{"text-clipped", `[{"op":"text","text":"{pts} a line far wider than the frame, cut at its edge","size":0.3,"color":"#00ff80","opacity":0.5,"at":"bottom-right"}]`},
	{"stamp", `[{"op":"stamp"}]`},
	{"chain", `[{"op":"color","contrast":1.2},{"op":"blur","radius":4},{"op":"pixelate","block":8,"rect":[0.5,0.5,0.5,0.5]},{"op":"watermark","image":"wm.png"}]`},
	{"chain-overlays", `[{"op":"blur","radius":3},{"op":"stamp"},{"op":"text","text":"{clock}","at":"top-left","background":"#000000"},{"op":"text","text":"{pts}","at":"top-left","opacity":0.6}]`},
}

// testEnv writes a watermark picture (a gradient with graded alpha) into
// a temporary assets directory.
func testEnv(tb testing.TB) gpu.Env {
	tb.Helper()
	dir := tb.TempDir()
	img := image.NewNRGBA(image.Rect(0, 0, 64, 40))
	for y := range 40 {
		for x := range 64 {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(4 * x), G: uint8(6 * y), B: uint8(255 - 3*x), A: uint8((x*4 + y*3) % 256)})
		}
	}
	f, err := os.Create(filepath.Join(dir, "wm.png"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return gpu.Env{Limits: gpu.DefaultLimits(), AssetsDir: dir}
}

// synthetic returns a frame with a diagonal gradient plus noise; seed
// varies the noise, shift moves the gradient (for motion).
func synthetic(format gpu.PixelFormat, w, h int, seed uint64, shift int) *gpu.Frame {
	f := gpu.NewFrame(format, w, h)
	rng := rand.New(rand.NewPCG(seed, 7))
	fill := func(p []byte, stride, pw, ph, mul int) {
		for y := range ph {
			for x := range pw {
				v := (x+shift)*mul*255/max(pw, 1) + y*128/max(ph, 1) + rng.IntN(41) - 20
				p[y*stride+x] = byte(max(0, min(255, v%300)))
			}
		}
	}
	fill(f.Planes[0], f.Strides[0], w, h, 1)
	cw, ch := gpu.ChromaSize(w, h)
	if format == gpu.NV12 {
		fill(f.Planes[1], f.Strides[1], 2*cw, ch, 2)
	} else {
		fill(f.Planes[1], f.Strides[1], cw, ch, 1)
		fill(f.Planes[2], f.Strides[2], cw, ch, 3)
	}
	return f
}

func cloneFrame(f *gpu.Frame) *gpu.Frame {
	g := *f
	for i := range g.Planes {
		if f.Planes[i] != nil {
			g.Planes[i] = append([]byte(nil), f.Planes[i]...)
		}
	}
	return &g
}

// maxDiff returns the largest difference between two frames' samples and
// where it is.
func maxDiff(a, b *gpu.Frame) (int, string) {
	worst, where := 0, ""
	for i := range a.Planes {
		for j := range a.Planes[i] {
			d := int(a.Planes[i][j]) - int(b.Planes[i][j])
			if d < 0 {
				d = -d
			}
			if d > worst {
				worst = d
				where = fmt.Sprintf("plane %d offset %d: cpu %d cuda %d", i, j, a.Planes[i][j], b.Planes[i][j])
			}
		}
	}
	return worst, where
}

// deviceRun uploads f into pitched device planes (as NVDEC delivers them,
// rows padded to 256 bytes), applies ch to the device frame and downloads
// the result into f.
func deviceRun(b *Backend, ch gpu.Chain, f *gpu.Frame, info gpu.FrameInfo) error {
	n := 3
	if f.Format == gpu.NV12 {
		n = 2
	}
	var bufs [3]devBuf
	defer func() {
		_ = b.dev.do(func() error {
			for i := range bufs {
				bufs[i].free()
			}
			return nil
		})
	}()
	d := &gpu.Frame{Format: f.Format, Width: f.Width, Height: f.Height}
	copyPlanes := func(up bool) error {
		return b.dev.do(func() error {
			for i := range n {
				rows := len(f.Planes[i]) / f.Strides[i]
				pitch := (f.Strides[i] + 255) &^ 255
				if bufs[i].ptr == 0 {
					var err error
					if bufs[i], err = alloc(int64(pitch * rows)); err != nil {
						return err
					}
					d.Device[i], d.Strides[i] = uintptr(bufs[i].ptr), pitch
				}
				for y := range rows {
					row := f.Planes[i][y*f.Strides[i] : (y+1)*f.Strides[i]]
					dst := cu.DevicePtr(uintptr(bufs[i].ptr) + uintptr(y*pitch))
					row0 := devBuf{ptr: dst, size: int64(pitch)}
					var err error
					if up {
						err = row0.upload(row)
					} else {
						err = row0.download(row)
					}
					if err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	if err := copyPlanes(true); err != nil {
		return err
	}
	if err := ch.Apply(d, info); err != nil {
		return err
	}
	return copyPlanes(false)
}

// TestCUDAMatchesCPU runs every op with a CUDA kernel on the CPU backend
// and on the CUDA backend (host frames and pitched device frames), on the
// same synthetic frames in both formats, and requires the samples to agree
// within 1 and analysis to emit the same events.
func TestCUDAMatchesCPU(t *testing.T) {
	b, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer b.Close()
	t.Logf("device: %s", b.DeviceName())
	env := testEnv(t)
	covered := map[string]bool{}
	for _, tc := range opCases {
		specs, err := gpu.ParseChain([]byte(tc.json), env)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, s := range specs {
			covered[s.Op] = true
		}
		for _, format := range []gpu.PixelFormat{gpu.NV12, gpu.YUV420P} {
			for _, size := range [][2]int{{64, 36}, {1280, 720}, {641, 361}} {
				name := fmt.Sprintf("%s/%v/%dx%d", tc.name, format, size[0], size[1])
				t.Run(name, func(t *testing.T) {
					compare(t, b, specs, format, size[0], size[1])
				})
			}
		}
	}
	for name := range factories {
		if !covered[name] {
			t.Errorf("op %s has a CUDA kernel but no test case", name)
		}
	}
	for _, name := range gpu.Ops() {
		if _, ok := factories[name]; !ok {
			t.Logf("op %s: no CUDA kernel (chains with it run on the CPU)", name)
		}
	}
}

// compare runs specs on a sequence of frames (motion, a cut, black frames,
// a wall clock and its absence) on both backends.
func compare(t *testing.T, b *Backend, specs []gpu.Spec, format gpu.PixelFormat, w, h int) {
	cb := cpu.New(4)
	cc, err := cb.NewChain(specs, w, h, format)
	if err != nil {
		t.Fatalf("cpu NewChain: %v", err)
	}
	defer cc.Close()
	hc, err := b.NewChain(specs, w, h, format)
	if err != nil {
		t.Fatalf("cuda NewChain (host frames): %v", err)
	}
	defer hc.Close()
	dc, err := b.NewChain(specs, w, h, format)
	if err != nil {
		t.Fatalf("cuda NewChain (device frames): %v", err)
	}
	defer dc.Close()
	var evCPU, evHost, evDev []gpu.Event
	for i := range 8 {
		src := synthetic(format, w, h, uint64(i), i)
		switch {
		case i == 4:
			src = synthetic(format, w, h, 99, 200) // a cut
		case i >= 6:
			for j := range src.Planes[0] {
				src.Planes[0][j] = 5 // black
			}
		}
		// The wall clock crosses seconds for {clock}; frame 3 has none, so
		// the stamp draws its band without a code.
		wall := time.Date(2025, 3, 14, 15, 9, 26, 535e6, time.UTC).Add(time.Duration(i) * 400 * time.Millisecond)
		if i == 3 {
			wall = time.Time{}
		}
		info := func(ev *[]gpu.Event) gpu.FrameInfo {
			return gpu.FrameInfo{Stream: "test", PTS: time.Duration(i) * 400 * time.Millisecond, Wall: wall,
				Emit: func(e gpu.Event) { *ev = append(*ev, e) }}
		}
		want, got, dev := cloneFrame(src), cloneFrame(src), cloneFrame(src)
		if err := cc.Apply(want, info(&evCPU)); err != nil {
			t.Fatalf("cpu Apply: %v", err)
		}
		if err := hc.Apply(got, info(&evHost)); err != nil {
			t.Fatalf("cuda Apply (host frame): %v", err)
		}
		if err := deviceRun(b, dc, dev, info(&evDev)); err != nil {
			t.Fatalf("cuda Apply (device frame): %v", err)
		}
		if d, where := maxDiff(want, got); d > 1 {
			t.Fatalf("frame %d, host frame: max difference %d at %s", i, d, where)
		}
		if d, where := maxDiff(want, dev); d > 1 {
			t.Fatalf("frame %d, device frame: max difference %d at %s", i, d, where)
		}
	}
	if !reflect.DeepEqual(evCPU, evHost) || !reflect.DeepEqual(evCPU, evDev) {
		t.Errorf("events differ:\ncpu  %+v\nhost %+v\ndev  %+v", evCPU, evHost, evDev)
	}
}

// TestUnsupportedOp checks that a chain with an op that has no kernel is
// refused with a *gpu.ChainError naming it, so the caller uses the CPU.
func TestUnsupportedOp(t *testing.T) {
	b, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer b.Close()
	_, err = b.NewChain([]gpu.Spec{{Op: "color", Params: &gpu.ColorParams{Contrast: 1, Saturation: 1, Gamma: 1}}, {Op: "no_such_op"}}, 64, 36, gpu.NV12)
	ce, ok := err.(*gpu.ChainError)
	if !ok || ce.Index != 1 || ce.Op != "no_such_op" {
		t.Fatalf("NewChain = %v, want a ChainError for op 1", err)
	}
}

// TestCUDAStampReads checks that the stamp drawn on the GPU reads back as
// the frame's wall clock (as the watch page's latency meter reads it), and
// that a frame without a wall clock gets no code.
func TestCUDAStampReads(t *testing.T) {
	b, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer b.Close()
	for _, format := range []gpu.PixelFormat{gpu.NV12, gpu.YUV420P} {
		ch, err := b.NewChain([]gpu.Spec{{Op: "stamp", Params: &gpu.StampParams{At: gpu.Top}}}, 1280, 720, format)
		if err != nil {
			t.Fatalf("NewChain: %v", err)
		}
		wall := time.UnixMilli(1741964966535)
		f := synthetic(format, 1280, 720, 1, 0)
		if err := ch.Apply(f, gpu.FrameInfo{Wall: wall}); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if ms, ok := gpu.ReadStamp(f.Planes[0], f.Strides[0], f.Width, f.Height); !ok || ms != wall.UnixMilli() {
			t.Errorf("%v: read %d, %v; want %d", format, ms, ok, wall.UnixMilli())
		}
		if err := ch.Apply(f, gpu.FrameInfo{}); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if ms, ok := gpu.ReadStamp(f.Planes[0], f.Strides[0], f.Width, f.Height); ok {
			t.Errorf("%v: read %d from a frame without a wall clock", format, ms)
		}
		ch.Close()
	}
}
