// Package plot draws bitrates over time as step lines on a PNG, for the
// adaptation tests and benchmarks (capacity, estimates, chosen rung).
package plot

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"time"
)

// Point is one value of a series from time T on.
type Point struct {
	T time.Duration
	V float64
}

// Series is a line drawn as steps: each value holds until the next point.
type Series struct {
	Color  color.RGBA
	Points []Point
}

// Chart is a white picture W x H with a Margin on every side: time from 0
// to Span across, values from 0 to Max up, grid lines every XGrid and
// YGrid (none where 0), and the series drawn in order over them, 2 pixels
// wide. Values above Max are drawn at the top edge, below 0 at the bottom.
type Chart struct {
	W, H, Margin int
	Span         time.Duration
	Max          float64
	XGrid        time.Duration
	YGrid        float64
	Series       []Series
}

// GridColor is the colour of the grid lines.
var GridColor = color.RGBA{225, 225, 225, 255}

// Draw renders the chart.
func (c Chart) Draw() *image.RGBA {
	w, h, m := c.W, c.H, c.Margin
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	x := func(d time.Duration) int { return m + int(float64(w-2*m)*float64(d)/float64(c.Span)) }
	y := func(v float64) int {
		v = min(max(v, 0), c.Max)
		return h - m - int(float64(h-2*m)*v/c.Max)
	}
	if c.YGrid > 0 {
		for v := 0.0; v <= c.Max; v += c.YGrid {
			for px := m; px < w-m; px++ {
				img.Set(px, y(v), GridColor)
			}
		}
	}
	if c.XGrid > 0 {
		for s := time.Duration(0); s <= c.Span; s += c.XGrid {
			for py := m; py < h-m; py++ {
				img.Set(x(s), py, GridColor)
			}
		}
	}
	for _, s := range c.Series {
		p := s.Points
		for i := 1; i < len(p); i++ {
			x0, y0 := x(p[i-1].T), y(p[i-1].V)
			x1, y1 := x(p[i].T), y(p[i].V)
			// A step: across at y0, then down or up at x1.
			for px := x0; px <= x1; px++ {
				img.Set(px, y0, s.Color)
				img.Set(px, y0+1, s.Color)
			}
			for py := min(y0, y1); py <= max(y0, y1); py++ {
				img.Set(x1, py, s.Color)
				img.Set(x1+1, py, s.Color)
			}
		}
	}
	return img
}

// WritePNG writes img to path.
func WritePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
