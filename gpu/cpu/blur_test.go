package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mutstream/mutstream/gpu"
)

// wantBlur is a direct 2D filter over the rect with edges clamped to it:
// the box mean exactly, or the gaussian with the documented weights in
// floating point (the op's 8.8 row pass may differ from it by 1).
func wantBlur(src *gpu.Frame, r gpu.Rect, radius int, box bool) *gpu.Frame {
	out := cloneFrame(src)
	x0, y0, x1, y1 := r.Pixels(src.Width, src.Height)
	for c := range 3 {
		rad, rx0, ry0, rx1, ry1 := radius, x0, y0, x1, y1
		if c > 0 {
			rad, rx0, ry0, rx1, ry1 = (radius+1)/2, x0/2, y0/2, (x1+1)/2, (y1+1)/2
		}
		wt := gpu.GaussianWeights(rad)
		weight := func(k int) float64 {
			if box {
				return 1
			}
			return float64(wt[max(k, -k)]) / 4096
		}
		for y := ry0; y < ry1; y++ {
			for x := rx0; x < rx1; x++ {
				sum, n := 0.0, 0
				for j := -rad; j <= rad; j++ {
					for k := -rad; k <= rad; k++ {
						sx := max(rx0, min(x+k, rx1-1))
						sy := max(ry0, min(y+j, ry1-1))
						v := int(*at(src, c, sx, sy))
						if box {
							sum += float64(v)
						} else {
							sum += weight(j) * weight(k) * float64(v)
						}
						n++
					}
				}
				if box {
					*at(out, c, x, y) = byte((int(sum) + n/2) / n)
				} else {
					*at(out, c, x, y) = byte(math.Round(sum))
				}
			}
		}
	}
	return out
}

// noise fills samples with random values, the same for a seed.
func noise(seed uint64) func(c, x, y int) byte {
	return func(c, x, y int) byte {
		r := rand.New(rand.NewPCG(seed, uint64(c<<32|x<<16|y)))
		return byte(r.IntN(256))
	}
}

// maxDiff is the largest sample difference between two frames.
func maxDiff(a, b *gpu.Frame) int {
	d := 0
	for c := range 3 {
		cw, ch := compSize(a, c)
		for y := range ch {
			for x := range cw {
				d = max(d, abs(int(*at(a, c, x, y))-int(*at(b, c, x, y))))
			}
		}
	}
	return d
}

func abs(v int) int { return max(v, -v) }

func blurJSON(r gpu.Rect, radius int, kind string) string {
	return fmt.Sprintf(`{"op":"blur","radius":%d,"kind":%q,"rect":[%v,%v,%v,%v]}`, radius, kind, r[0], r[1], r[2], r[3])
}

func TestBlurMatchesDirectFilter(t *testing.T) {
	rects := []gpu.Rect{gpu.FullFrame, {0.25, 0.25, 0.5, 0.5}, {0.5, 0, 0.5, 1}, {0.1, 0.2, 0.05, 0.2}}
	for _, format := range formats {
		for _, size := range [][2]int{{16, 8}, {64, 36}, {17, 9}, {33, 19}} {
			for _, rect := range rects {
				for _, radius := range []int{1, 2, 5, 12} {
					for _, kind := range []string{gpu.BlurBox, gpu.BlurGaussian} {
						w, h := size[0], size[1]
						js := blurJSON(rect, radius, kind)
						src := testFrame(format, w, h, noise(7))
						want := wantBlur(src, rect, radius, kind == gpu.BlurBox)
						tol := 1
						if kind == gpu.BlurBox {
							tol = 0
						}
						for _, workers := range []int{1, 3} {
							f := cloneFrame(src)
							apply(t, prepare(t, js, w, h, format), f, workers)
							checkPadding(t, f)
							if d := maxDiff(f, want); d > tol {
								t.Fatalf("%v %dx%d %s workers %d: differs from the direct filter by %d", format, w, h, js, workers, d)
							}
						}
					}
				}
			}
		}
	}
}

func TestBlurConstantStaysConstant(t *testing.T) {
	for _, format := range formats {
		for _, kind := range []string{gpu.BlurBox, gpu.BlurGaussian} {
			for _, radius := range []int{1, 7, 64, 128} {
				f := testFrame(format, 64, 36, func(c, _, _ int) byte { return byte(200 + c*20) })
				want := cloneFrame(f)
				op, err := newBlur(&gpu.BlurParams{Rect: gpu.FullFrame, Radius: radius, Kind: kind}, 64, 36, format)
				if err != nil {
					t.Fatal(err)
				}
				apply(t, op, f, 2)
				sameSamples(t, fmt.Sprintf("%v %s r=%d", format, kind, radius), f, want)
			}
		}
	}
}

func TestBlurSpreadsAPointSymmetrically(t *testing.T) {
	const bg, cx, cy = 100, 32, 18
	for _, format := range formats {
		for _, kind := range []string{gpu.BlurBox, gpu.BlurGaussian} {
			f := testFrame(format, 64, 36, func(c, x, y int) byte {
				if c == 0 && x == cx && y == cy {
					return 255
				}
				return bg
			})
			radius := 3
			apply(t, prepare(t, blurJSON(gpu.FullFrame, radius, kind), 64, 36, format), f, 2)
			sum := 0
			for y := range 36 {
				for x := range 64 {
					v := int(*at(f, 0, x, y))
					sum += v - bg
					dx, dy := x-cx, y-cy
					if abs(dx) > radius || abs(dy) > radius {
						if v != bg {
							t.Fatalf("%v %s: (%d,%d) outside the radius changed to %d", format, kind, x, y, v)
						}
						continue
					}
					if m := int(*at(f, 0, cx-dx, y)); m != v {
						t.Fatalf("%v %s: not symmetric in x at (%d,%d): %d vs %d", format, kind, dx, dy, v, m)
					}
					if m := int(*at(f, 0, x, cy-dy)); m != v {
						t.Fatalf("%v %s: not symmetric in y at (%d,%d): %d vs %d", format, kind, dx, dy, v, m)
					}
					if m := int(*at(f, 0, cx+dy, cy+dx)); abs(m-v) > 1 {
						t.Fatalf("%v %s: not symmetric under transposition at (%d,%d): %d vs %d", format, kind, dx, dy, v, m)
					}
				}
			}
			// Each of the 49 samples rounds by at most 1/2.
			if n := (2*radius + 1) * (2*radius + 1); abs(sum-(255-bg)) > n/2 {
				t.Fatalf("%v %s: the point's energy %d became %d", format, kind, 255-bg, sum)
			}
			if peak := int(*at(f, 0, cx, cy)); peak <= bg || peak >= 255 {
				t.Fatalf("%v %s: centre %d not spread", format, kind, peak)
			}
		}
	}
}

func TestBlurRectOnly(t *testing.T) {
	rect := gpu.Rect{0.25, 0.5, 0.5, 0.25}
	for _, format := range formats {
		for _, kind := range []string{gpu.BlurBox, gpu.BlurGaussian} {
			a := testFrame(format, 64, 36, noise(1))
			// b has the same pixels inside the rect, others outside.
			x0, y0, x1, y1 := rect.Pixels(64, 36)
			b := testFrame(format, 64, 36, func(c, x, y int) byte {
				sx, sy := x, y
				if c > 0 {
					sx, sy = 2*x, 2*y
				}
				if sx >= x0 && sx < x1 && sy >= y0 && sy < y1 {
					return noise(1)(c, x, y)
				}
				return noise(2)(c, x, y)
			})
			origA, origB := cloneFrame(a), cloneFrame(b)
			op := prepare(t, blurJSON(rect, 8, kind), 64, 36, format)
			apply(t, op, a, 2)
			apply(t, op, b, 2)
			inside := 0
			for c := range 3 {
				cw, ch := compSize(a, c)
				for y := range ch {
					for x := range cw {
						sx, sy := x, y
						if c > 0 {
							sx, sy = 2*x, 2*y
						}
						in := sx >= x0 && sx < x1 && sy >= y0 && sy < y1
						va, vb := *at(a, c, x, y), *at(b, c, x, y)
						switch {
						case !in && (va != *at(origA, c, x, y) || vb != *at(origB, c, x, y)):
							t.Fatalf("%v %s: component %d (%d,%d) outside the rect changed", format, kind, c, x, y)
						case in && va != vb:
							t.Fatalf("%v %s: component %d (%d,%d) inside the rect depends on pixels outside it", format, kind, c, x, y)
						case in && va != *at(origA, c, x, y):
							inside++
						}
					}
				}
			}
			if inside == 0 {
				t.Fatalf("%v %s: nothing inside the rect changed", format, kind)
			}
		}
	}
}

func TestBlurKindsDiffer(t *testing.T) {
	src := testFrame(gpu.YUV420P, 64, 36, noise(3))
	g, b := cloneFrame(src), cloneFrame(src)
	apply(t, prepare(t, blurJSON(gpu.FullFrame, 4, gpu.BlurGaussian), 64, 36, gpu.YUV420P), g, 1)
	apply(t, prepare(t, blurJSON(gpu.FullFrame, 4, gpu.BlurBox), 64, 36, gpu.YUV420P), b, 1)
	if maxDiff(g, b) == 0 {
		t.Fatal("box and gaussian give the same picture")
	}
}

// TestBlurHides checks the strength asked of radius 12: detail (noise)
// in the rect keeps a small fraction of its spread.
func TestBlurHides(t *testing.T) {
	const w, h = 160, 90
	for _, kind := range []string{gpu.BlurBox, gpu.BlurGaussian} {
		f := testFrame(gpu.YUV420P, w, h, noise(4))
		before := lumaStdDev(f)
		apply(t, prepare(t, blurJSON(gpu.FullFrame, 12, kind), w, h, gpu.YUV420P), f, 2)
		after := lumaStdDev(f)
		if after > before/10 {
			t.Fatalf("%s r=12: luma spread %.1f -> %.1f, want under a tenth", kind, before, after)
		}
	}
}

func lumaStdDev(f *gpu.Frame) float64 {
	var s, s2 float64
	n := float64(f.Width * f.Height)
	for y := range f.Height {
		for x := range f.Width {
			v := float64(*at(f, 0, x, y))
			s += v
			s2 += v * v
		}
	}
	m := s / n
	return math.Sqrt(s2/n - m*m)
}

func TestGaussianWeights(t *testing.T) {
	for r := 1; r <= gpu.HardMaxBlurRadius; r++ {
		wt := gpu.GaussianWeights(r)
		sum := wt[0]
		for k := 1; k <= r; k++ {
			sum += 2 * wt[k]
			if wt[k] > wt[k-1]+1 { // rounding may tie or swap neighbours
				t.Fatalf("r=%d: weights grow at %d: %v", r, k, wt)
			}
		}
		if sum != 4096 {
			t.Fatalf("r=%d: weights sum to %d", r, sum)
		}
	}
}
