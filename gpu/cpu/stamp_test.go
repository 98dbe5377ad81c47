package cpu

import (
	"testing"
	"time"

	"github.com/mutstream/mutstream/gpu"
)

func TestStampReadBack(t *testing.T) {
	wall := time.Date(2031, 3, 4, 5, 6, 7, 891e6, time.UTC)
	for _, format := range ovFormats {
		for _, wh := range [][2]int{{640, 360}, {320, 180}, {176, 144}, {1280, 720}, {641, 361}} {
			w, h := wh[0], wh[1]
			c := ovChain(t, gpu.Env{Limits: gpu.DefaultLimits()}, `[{"op":"stamp"}]`, w, h, format)
			f := ovNoise(format, w, h)
			orig := ovCopy(f)
			if err := c.Apply(f, gpu.FrameInfo{Wall: wall}); err != nil {
				t.Fatal(err)
			}
			got, ok := gpu.ReadStamp(f.Planes[0], f.Strides[0], w, h)
			if !ok || got != wall.UnixMilli() {
				t.Errorf("%v %dx%d: read %d, %v; want %d", format, w, h, got, ok, wall.UnixMilli())
			}
			rows := gpu.StampBandRows(h)
			if rows < h/6 || rows > h/6+2 {
				t.Errorf("%dx%d: band of %d rows", w, h, rows)
			}
			// The band is grey with neutral chroma; below it nothing changed.
			for y := range h {
				for x := range w {
					gy, gu, gv := ovYUV(f, x, y)
					oy, ou, ov := ovYUV(orig, x, y)
					switch {
					case y >= rows:
						if gy != oy || gu != ou || gv != ov {
							t.Fatalf("%v %dx%d: (%d,%d) below the band changed", format, w, h, x, y)
						}
					case gu != 128 || gv != 128:
						t.Fatalf("%v %dx%d: (%d,%d) chroma %d,%d in the band", format, w, h, x, y, gu, gv)
					case gy != gpu.StampGrey && gy != gpu.StampWhite && gy != gpu.StampBlack:
						t.Fatalf("%v %dx%d: (%d,%d) luma %d in the band", format, w, h, x, y, gy)
					}
				}
			}
			// The first block, a white guard, and the corner's grey.
			g := gpu.NewStampGeometry(w, h)
			top, _ := g.BlockRows()
			if y, _, _ := ovYUV(f, g.BlockEdge(0), top); y != gpu.StampWhite {
				t.Errorf("%v %dx%d: start guard %d", format, w, h, y)
			}
			if y, _, _ := ovYUV(f, 0, 0); y != gpu.StampGrey {
				t.Errorf("%v %dx%d: band corner %d", format, w, h, y)
			}
		}
	}
}

func TestStampEveryFrame(t *testing.T) {
	c := ovChain(t, gpu.Env{}, `[{"op":"stamp","at":"top"}]`, 320, 180, gpu.NV12)
	f := ovNoise(gpu.NV12, 320, 180)
	base := time.UnixMilli(1700000000000)
	for i := range 20 {
		wall := base.Add(time.Duration(i*37) * time.Millisecond)
		if err := c.Apply(f, gpu.FrameInfo{Wall: wall}); err != nil {
			t.Fatal(err)
		}
		if got, ok := gpu.ReadStamp(f.Planes[0], f.Strides[0], 320, 180); !ok || got != wall.UnixMilli() {
			t.Fatalf("frame %d: read %d, %v; want %d", i, got, ok, wall.UnixMilli())
		}
	}
	// No wall time: the band stays grey and holds no code.
	if err := c.Apply(f, gpu.FrameInfo{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := gpu.ReadStamp(f.Planes[0], f.Strides[0], 320, 180); ok {
		t.Fatal("a code without a wall time")
	}
}

func TestStampValidation(t *testing.T) {
	for _, at := range []string{"bottom", "top-left", "x"} {
		ovFieldErr(t, gpu.Env{}, `[{"op":"stamp","at":"`+at+`"}]`, "at")
	}
	ovFieldErr(t, gpu.Env{}, `[{"op":"stamp","size":1}]`, "size")
}

func TestStampApplyAllocs(t *testing.T) {
	for _, format := range ovFormats {
		c := ovChain(t, gpu.Env{}, `[{"op":"stamp"}]`, 640, 360, format)
		f := ovNoise(format, 640, 360)
		wall := time.UnixMilli(1700000000000)
		if n := testing.AllocsPerRun(50, func() {
			wall = wall.Add(33 * time.Millisecond)
			_ = c.Apply(f, gpu.FrameInfo{Wall: wall})
		}); n != 0 {
			t.Errorf("%v: %v allocations per frame", format, n)
		}
	}
}
