package adapt

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPlotRFC8867 draws capacity, estimate, smoothed estimate and the
// chosen rung's bitrate over the RFC 8867 section 5.1 trace (scaled x2).
// With MEDIAD_PLOT_DIR set it writes the picture there as rfc8867.png
// (BENCHMARKS.md shows it); otherwise it only checks the drawing.
func TestPlotRFC8867(t *testing.T) {
	l := newLink(1,
		segment{40 * time.Second, 2_000_000},
		segment{20 * time.Second, 5_000_000},
		segment{20 * time.Second, 1_200_000},
		segment{20 * time.Second, 2_000_000},
	)
	steps := run(t, DefaultConfig(), l)
	img := plot(steps, l, 900, 360)
	if img.Bounds().Dx() != 900 {
		t.Fatal("bad plot")
	}
	dir := os.Getenv("MEDIAD_PLOT_DIR")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, "rfc8867.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// plot draws the series: capacity grey, GCC-like estimate light blue,
// smoothed estimate dark blue, chosen rung's bitrate red; 1 Mb/s grid lines.
func plot(steps []step, l *link, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	const margin = 20
	maxBps := 6_000_000.0
	total := l.total()
	x := func(d time.Duration) int { return margin + int(float64(w-2*margin)*float64(d)/float64(total)) }
	y := func(bps int) int { return h - margin - int(float64(h-2*margin)*float64(bps)/maxBps) }
	grid := color.RGBA{225, 225, 225, 255}
	for b := 0; b <= int(maxBps); b += 1_000_000 {
		for px := margin; px < w-margin; px++ {
			img.Set(px, y(b), grid)
		}
	}
	for s := time.Duration(0); s <= total; s += 10 * time.Second {
		for py := margin; py < h-margin; py++ {
			img.Set(x(s), py, grid)
		}
	}
	line := func(c color.RGBA, val func(step) int) {
		for i := 1; i < len(steps); i++ {
			x0, y0 := x(steps[i-1].at), y(val(steps[i-1]))
			x1, y1 := x(steps[i].at), y(val(steps[i]))
			// A step: across at y0, then down or up at x1.
			for px := x0; px <= x1; px++ {
				img.Set(px, y0, c)
				img.Set(px, y0+1, c)
			}
			lo, hi := min(y0, y1), max(y0, y1)
			for py := lo; py <= hi; py++ {
				img.Set(x1, py, c)
				img.Set(x1+1, py, c)
			}
		}
	}
	line(color.RGBA{150, 150, 150, 255}, func(s step) int { return l.capacityAt(s.at) })
	line(color.RGBA{140, 190, 240, 255}, func(s step) int { return s.stats.Estimate })
	line(color.RGBA{20, 60, 200, 255}, func(s step) int { return s.smoothed })
	line(color.RGBA{220, 30, 30, 255}, func(s step) int {
		if s.dec.AudioOnly {
			return 0
		}
		return bitrateOf(ladder, s.dec.Rung)
	})
	return img
}
