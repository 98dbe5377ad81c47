package cpu

import (
	"fmt"
	"testing"
	"time"

	"github.com/mutstream/mutstream/gpu"
)

// An odd-sized source (641x361, as a browser publishing VP8 may send) has
// chroma planes of 321x181. Every op runs on it, covers the last column and
// row (of luma and chroma) where its area reaches the frame's edge, and
// touches nothing beyond the picture.
const oddW, oddH = 641, 361

func TestOddSizeChainsRun(t *testing.T) {
	env := gpu.Env{Limits: gpu.DefaultLimits()}
	chains := []string{
		`[{"op":"blur","radius":6}]`,
		`[{"op":"blur","kind":"box","radius":3,"rect":[0.5,0.5,0.5,0.5]}]`,
		`[{"op":"pixelate","block":16}]`,
		`[{"op":"color","brightness":0.2,"saturation":0.5}]`,
		`[{"op":"stamp"}]`,
		`[{"op":"text","text":"{clock} {pts}","at":"bottom-right","background":"#000000"}]`,
		`[{"op":"analyze"}]`,
		`[{"op":"blur","radius":4},{"op":"pixelate","block":8,"rect":[0,0,0.5,0.5]},{"op":"text","text":"x","at":"center"}]`,
	}
	for _, format := range formats {
		for _, js := range chains {
			c := ovChain(t, env, js, oddW, oddH, format)
			f := testFrame(format, oddW, oddH, noise(3))
			if err := c.Apply(f, gpu.FrameInfo{Wall: time.Unix(1_800_000_000, 0), PTS: time.Second}); err != nil {
				t.Fatalf("%v %s on %dx%d: %v", format, js, oddW, oddH, err)
			}
			checkPadding(t, f)
		}
	}
}

func TestOddSizeBlur(t *testing.T) {
	for _, format := range formats {
		for _, tc := range []struct {
			rect   gpu.Rect
			radius int
			kind   string
		}{
			{gpu.FullFrame, 5, gpu.BlurGaussian},
			{gpu.FullFrame, 4, gpu.BlurBox},
			{gpu.Rect{0.5, 0.5, 0.5, 0.5}, 3, gpu.BlurBox},
		} {
			js := blurJSON(tc.rect, tc.radius, tc.kind)
			src := testFrame(format, oddW, oddH, noise(11))
			want := wantBlur(src, tc.rect, tc.radius, tc.kind == gpu.BlurBox)
			f := cloneFrame(src)
			apply(t, prepare(t, js, oddW, oddH, format), f, 3)
			checkPadding(t, f)
			tol := 1
			if tc.kind == gpu.BlurBox {
				tol = 0
			}
			if d := maxDiff(f, want); d > tol {
				t.Fatalf("%v %s: differs from the direct filter by %d", format, js, d)
			}
			lastCovered(t, fmt.Sprintf("%v %s", format, js), src, f)
		}
	}
}

func TestOddSizePixelate(t *testing.T) {
	for _, format := range formats {
		for _, block := range []int{4, 16} {
			js := fmt.Sprintf(`{"op":"pixelate","block":%d}`, block)
			src := testFrame(format, oddW, oddH, noise(5))
			want := wantPixelate(src, gpu.FullFrame, block)
			f := cloneFrame(src)
			apply(t, prepare(t, js, oddW, oddH, format), f, 3)
			checkPadding(t, f)
			sameSamples(t, fmt.Sprintf("%v %s", format, js), f, want)
			lastCovered(t, fmt.Sprintf("%v %s", format, js), src, f)
		}
	}
}

func TestOddSizeColor(t *testing.T) {
	for _, format := range formats {
		f := testFrame(format, oddW, oddH, pattern)
		apply(t, prepare(t, `{"op":"color","brightness":0.1,"saturation":0.3}`, oddW, oddH, format), f, 3)
		checkPadding(t, f)
		for comp := range 3 {
			cw, ch := compSize(f, comp)
			for y := range ch {
				for x := range cw {
					want := wantColor(comp, pattern(comp, x, y), 0.1, 1, 0.3, 1)
					if got := *at(f, comp, x, y); got != want {
						t.Fatalf("%v: component %d (%d,%d): got %d want %d", format, comp, x, y, got, want)
					}
				}
			}
		}
	}
}

// lastCovered fails when the last column or row of a component is the
// same in got as in src everywhere: the op left the odd edge unmutated.
func lastCovered(t *testing.T, name string, src, got *gpu.Frame) {
	t.Helper()
	for c := range 3 {
		cw, ch := compSize(src, c)
		col, row := 0, 0
		for y := range ch {
			if *at(src, c, cw-1, y) != *at(got, c, cw-1, y) {
				col++
			}
		}
		for x := range cw {
			if *at(src, c, x, ch-1) != *at(got, c, x, ch-1) {
				row++
			}
		}
		if col < ch/4 || row < cw/4 {
			t.Errorf("%s: component %d (%dx%d): last column %d of %d samples changed, last row %d of %d", name, c, cw, ch, col, ch, row, cw)
		}
	}
}
