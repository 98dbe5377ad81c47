package fanout

import (
	"image"
	"image/color"
	"math"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/mutstream/mutstream/internal/plot"
)

// seriesColors colour the servers in the order they first appear.
var seriesColors = []color.RGBA{{200, 30, 30, 255}, {30, 90, 200, 255}, {30, 150, 60, 255}, {150, 60, 170, 255}}

// Curve draws server CPU per viewer-second (ms, up) against viewers
// (across), one line per server with a dot at each step, labelled with
// the servers' names in their colours.
func Curve(res []Result) *image.RGBA {
	const w, h, m = 800, 480, 50
	maxN, maxV := 1, 0.0
	var names []string
	for _, r := range res {
		maxN = max(maxN, r.Viewers)
		maxV = max(maxV, r.CPUMsPerViewerS)
		if !contains(names, r.Server) {
			names = append(names, r.Server)
		}
	}
	yGrid := niceStep(maxV / 5)
	top := math.Max(yGrid, math.Ceil(maxV/yGrid)*yGrid)
	xGrid := max(1, niceStep(float64(maxN)/8))
	xTop := math.Ceil(float64(maxN)/xGrid) * xGrid
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	x := func(n float64) int { return m + int(float64(w-2*m)*n/xTop) }
	y := func(v float64) int { return h - m - int(float64(h-2*m)*v/top) }
	black := color.RGBA{0, 0, 0, 255}
	for v := 0.0; v <= top+1e-9; v += yGrid {
		for px := m; px <= w-m; px++ {
			img.Set(px, y(v), plot.GridColor)
		}
		label(img, 4, y(v)+4, strconv.FormatFloat(v, 'g', 4, 64), black)
	}
	for n := 0.0; n <= xTop+1e-9; n += xGrid {
		for py := m; py <= h-m; py++ {
			img.Set(x(n), py, plot.GridColor)
		}
		label(img, x(n)-8, h-m+16, strconv.Itoa(int(n)), black)
	}
	label(img, m, m-30, "server CPU per viewer-second (ms, up) against viewers (across)", black)
	for si, name := range names {
		c := seriesColors[si%len(seriesColors)]
		label(img, w-m-120, m-30+14*si, name, c)
		px, py := -1, -1
		for _, r := range res {
			if r.Server != name {
				continue
			}
			cx, cy := x(float64(r.Viewers)), y(r.CPUMsPerViewerS)
			for dx := -3; dx <= 3; dx++ {
				for dy := -3; dy <= 3; dy++ {
					img.Set(cx+dx, cy+dy, c)
				}
			}
			if px >= 0 {
				line(img, px, py, cx, cy, c)
			}
			px, py = cx, cy
		}
	}
	return img
}

// WriteCurve writes Curve(res) as a PNG.
func WriteCurve(path string, res []Result) error {
	return plot.WritePNG(path, Curve(res))
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, k := range []float64{1, 2, 5, 10} {
		if k*p >= v {
			return k * p
		}
	}
	return 10 * p
}

// line draws a 2-pixel line from (x0, y0) to (x1, y1).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	steps := max(abs(x1-x0), abs(y1-y0), 1)
	for i := 0; i <= steps; i++ {
		px := x0 + (x1-x0)*i/steps
		py := y0 + (y1-y0)*i/steps
		img.Set(px, py, c)
		img.Set(px, py+1, c)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func label(img *image.RGBA, x, y int, s string, c color.RGBA) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
