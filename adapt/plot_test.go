package adapt

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/plot"
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
	img := drawSteps(steps, l, 900, 360)
	if img.Bounds().Dx() != 900 {
		t.Fatal("bad plot")
	}
	dir := os.Getenv("MEDIAD_PLOT_DIR")
	if dir == "" {
		return
	}
	if err := plot.WritePNG(filepath.Join(dir, "rfc8867.png"), img); err != nil {
		t.Fatal(err)
	}
}

// drawSteps draws the series: capacity grey, GCC-like estimate light blue,
// smoothed estimate dark blue, chosen rung's bitrate red; 1 Mb/s grid lines.
func drawSteps(steps []step, l *link, w, h int) *image.RGBA {
	series := func(c color.RGBA, val func(step) int) plot.Series {
		s := plot.Series{Color: c, Points: make([]plot.Point, len(steps))}
		for i, st := range steps {
			s.Points[i] = plot.Point{T: st.at, V: float64(val(st))}
		}
		return s
	}
	return plot.Chart{
		W: w, H: h, Margin: 20,
		Span: l.total(), Max: 6_000_000,
		XGrid: 10 * time.Second, YGrid: 1_000_000,
		Series: []plot.Series{
			series(color.RGBA{150, 150, 150, 255}, func(s step) int { return l.capacityAt(s.at) }),
			series(color.RGBA{140, 190, 240, 255}, func(s step) int { return s.stats.Estimate }),
			series(color.RGBA{20, 60, 200, 255}, func(s step) int { return s.smoothed }),
			series(color.RGBA{220, 30, 30, 255}, func(s step) int {
				if s.dec.AudioOnly {
					return 0
				}
				return bitrateOf(ladder, s.dec.Rung)
			}),
		},
	}.Draw()
}
