package cpu

import (
	"fmt"
	"testing"

	"github.com/mutstream/mutstream/gpu"
)

// wantPixelate computes the pixelated frame sample by sample, from the
// documented rule: blocks from the rect's corner, each its rounded mean.
func wantPixelate(src *gpu.Frame, r gpu.Rect, block int) *gpu.Frame {
	out := cloneFrame(src)
	x0, y0, x1, y1 := r.Pixels(src.Width, src.Height)
	for c := range 3 {
		bs, rx0, ry0, rx1, ry1 := block, x0, y0, x1, y1
		if c > 0 {
			bs, rx0, ry0, rx1, ry1 = block/2, x0/2, y0/2, (x1+1)/2, (y1+1)/2
		}
		for by := ry0; by < ry1; by += bs {
			for bx := rx0; bx < rx1; bx += bs {
				sum, n := 0, 0
				for y := by; y < min(by+bs, ry1); y++ {
					for x := bx; x < min(bx+bs, rx1); x++ {
						sum += int(*at(src, c, x, y))
						n++
					}
				}
				mean := byte((sum + n/2) / n)
				for y := by; y < min(by+bs, ry1); y++ {
					for x := bx; x < min(bx+bs, rx1); x++ {
						*at(out, c, x, y) = mean
					}
				}
			}
		}
	}
	return out
}

// sameSamples fails at the first sample where got and want differ.
func sameSamples(t *testing.T, name string, got, want *gpu.Frame) {
	t.Helper()
	for c := range 3 {
		cw, ch := compSize(got, c)
		for y := range ch {
			for x := range cw {
				if g, w := *at(got, c, x, y), *at(want, c, x, y); g != w {
					t.Fatalf("%s: component %d (%d,%d): got %d want %d", name, c, x, y, g, w)
				}
			}
		}
	}
}

func TestPixelateGolden(t *testing.T) {
	cases := []struct {
		rect  gpu.Rect
		block int
	}{
		{gpu.FullFrame, 2},
		{gpu.FullFrame, 4},
		{gpu.FullFrame, 6}, // partial blocks at the right and bottom
		{gpu.Rect{0.25, 0.25, 0.5, 0.5}, 4},
		{gpu.Rect{0.1, 0.3, 0.7, 0.6}, 10},
		{gpu.FullFrame, 256}, // one block
	}
	for _, format := range formats {
		for _, size := range [][2]int{{16, 8}, {64, 36}, {17, 9}, {33, 19}} {
			for _, c := range cases {
				w, h := size[0], size[1]
				js := fmt.Sprintf(`{"op":"pixelate","block":%d,"rect":[%v,%v,%v,%v]}`, c.block, c.rect[0], c.rect[1], c.rect[2], c.rect[3])
				src := testFrame(format, w, h, pattern)
				want := wantPixelate(src, c.rect, c.block)
				for _, workers := range []int{1, 3} {
					f := cloneFrame(src)
					apply(t, prepare(t, js, w, h, format), f, workers)
					checkPadding(t, f)
					sameSamples(t, fmt.Sprintf("%v %dx%d %s workers %d", format, w, h, js, workers), f, want)
				}
			}
		}
	}
}

func TestPixelateExactMeans(t *testing.T) {
	// 4x4 blocks of a 16x8 frame: a block's luma is 0..15 + its index.
	for _, format := range formats {
		f := testFrame(format, 16, 8, func(c, x, y int) byte {
			if c > 0 {
				return byte(10*x + y) // 2x2 chroma blocks
			}
			return byte(x%4 + 4*(y%4) + 16*(x/4+4*(y/4)))
		})
		apply(t, prepare(t, `{"op":"pixelate","block":4}`, 16, 8, format), f, 2)
		for y := range 8 {
			for x := range 16 {
				// mean of 0..15 is 7.5, rounded up to 8
				want := byte(8 + 16*(x/4+4*(y/4)))
				if got := *at(f, 0, x, y); got != want {
					t.Fatalf("%v luma (%d,%d): got %d want %d", format, x, y, got, want)
				}
			}
		}
		for y := range 4 {
			for x := range 8 {
				bx, by := x/2*2, y/2*2
				// mean of 10*bx+by + {0, 1, 10, 11} is 10*bx+by+5.5, rounded up
				want := byte(10*bx + by + 6)
				if got := *at(f, 1, x, y); got != want {
					t.Fatalf("%v chroma (%d,%d): got %d want %d", format, x, y, got, want)
				}
			}
		}
	}
}
