package soak

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mutstream/mutstream/internal/plot"
)

// Slope fits y = a + b*x by least squares and returns b; 0 with fewer than
// two distinct x.
func Slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if len(xs) < 2 || len(xs) != len(ys) {
		return 0
	}
	var sx, sy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
	}
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (xs[i] - mx) * (ys[i] - my)
	}
	if sxx == 0 {
		return 0
	}
	return sxy / sxx
}

// Trend is a series' least-squares slope per hour over the samples from
// From on, with its first and last values there.
type Trend struct {
	Name        string
	Unit        string
	PerHour     float64
	First, Last float64
	N           int
}

func (t Trend) String() string {
	return fmt.Sprintf("%s: %.4g %s/h (least squares over %d samples; %.4g -> %.4g %s)", t.Name, t.PerHour, t.Unit, t.N, t.First, t.Last, t.Unit)
}

// Trends fits RSS and the Go heap (MiB), goroutines, threads and FDs over the samples at
// or after from (the warm-up left out).
func Trends(samples []Sample, from time.Duration) []Trend {
	series := []struct {
		name, unit string
		v          func(Sample) float64
	}{
		{"rss", "MiB", func(s Sample) float64 { return float64(s.RSSBytes) / (1 << 20) }},
		{"go heap", "MiB", func(s Sample) float64 { return float64(s.HeapBytes) / (1 << 20) }},
		{"goroutines", "goroutines", func(s Sample) float64 { return float64(s.Goroutines) }},
		{"threads", "threads", func(s Sample) float64 { return float64(s.Threads) }},
		{"fds", "fds", func(s Sample) float64 { return float64(s.FDs) }},
	}
	var out []Trend
	for _, sr := range series {
		var xs, ys []float64
		for _, s := range samples {
			if s.T < from || s.Goroutines < 0 && (sr.name == "goroutines" || sr.name == "go heap") {
				continue
			}
			xs = append(xs, s.T.Hours())
			ys = append(ys, sr.v(s))
		}
		tr := Trend{Name: sr.name, Unit: sr.unit, PerHour: Slope(xs, ys), N: len(xs)}
		if len(ys) > 0 {
			tr.First, tr.Last = ys[0], ys[len(ys)-1]
		}
		out = append(out, tr)
	}
	return out
}

// WriteCSV writes the samples with a header line.
func WriteCSV(w io.Writer, samples []Sample) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"t_s", "rss_mib", "go_heap_mib", "goroutines", "threads", "fds", "viewers_playing"})
	for _, s := range samples {
		_ = cw.Write([]string{
			strconv.FormatFloat(s.T.Seconds(), 'f', 1, 64),
			strconv.FormatFloat(float64(s.RSSBytes)/(1<<20), 'f', 2, 64),
			strconv.FormatFloat(float64(s.HeapBytes)/(1<<20), 'f', 2, 64),
			strconv.Itoa(s.Goroutines), strconv.Itoa(s.Threads), strconv.Itoa(s.FDs), strconv.Itoa(s.Viewers),
		})
	}
	cw.Flush()
	return cw.Error()
}

// WriteCharts draws rss.png (RSS in blue, the Go heap in green, MiB) and
// counts.png (goroutines in blue, threads in red, FDs in green) under dir,
// and returns their scales in words.
func WriteCharts(dir string, samples []Sample) (string, error) {
	if len(samples) == 0 {
		return "", nil
	}
	span := samples[len(samples)-1].T
	grid := span / 6
	blue, red, green := color.RGBA{40, 90, 200, 255}, color.RGBA{200, 50, 40, 255}, color.RGBA{30, 150, 60, 255}
	rss, heap := plot.Series{Color: blue}, plot.Series{Color: green}
	gor, thr, fds := plot.Series{Color: blue}, plot.Series{Color: red}, plot.Series{Color: green}
	maxRSS, maxCount := 0.0, 0.0
	for _, s := range samples {
		mib := float64(s.RSSBytes) / (1 << 20)
		rss.Points = append(rss.Points, plot.Point{T: s.T, V: mib})
		heap.Points = append(heap.Points, plot.Point{T: s.T, V: float64(s.HeapBytes) / (1 << 20)})
		gor.Points = append(gor.Points, plot.Point{T: s.T, V: float64(s.Goroutines)})
		thr.Points = append(thr.Points, plot.Point{T: s.T, V: float64(s.Threads)})
		fds.Points = append(fds.Points, plot.Point{T: s.T, V: float64(s.FDs)})
		maxRSS = max(maxRSS, mib)
		maxCount = max(maxCount, float64(s.Goroutines), float64(s.Threads), float64(s.FDs))
	}
	top := func(v float64) (float64, float64) {
		step := math.Pow(10, math.Floor(math.Log10(max(v, 1))))
		return math.Ceil(v*1.1/step) * step, step
	}
	mr, gr := top(maxRSS)
	if err := plot.WritePNG(filepath.Join(dir, "rss.png"), plot.Chart{W: 900, H: 400, Margin: 20, Span: span, Max: mr, XGrid: grid, YGrid: gr, Series: []plot.Series{heap, rss}}.Draw()); err != nil {
		return "", err
	}
	mc, gc := top(maxCount)
	if err := plot.WritePNG(filepath.Join(dir, "counts.png"), plot.Chart{W: 900, H: 400, Margin: 20, Span: span, Max: mc, XGrid: grid, YGrid: gc, Series: []plot.Series{fds, thr, gor}}.Draw()); err != nil {
		return "", err
	}
	return fmt.Sprintf("charts: time 0-%v across (grid every %v); rss.png 0-%g MiB up (grid %g), RSS blue, Go heap green; "+
		"counts.png 0-%g up (grid %g), goroutines blue, threads red, FDs green", span.Round(time.Second), grid.Round(time.Second), mr, gr, mc, gc), nil
}
