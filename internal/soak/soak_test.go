package soak

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestSlope(t *testing.T) {
	xs := []float64{0, 1, 2, 3, 4}
	ys := []float64{10, 12.1, 13.9, 16, 18}
	if b := Slope(xs, ys); math.Abs(b-1.99) > 1e-9 {
		t.Fatalf("slope %v, want 1.99", b)
	}
	if b := Slope([]float64{1, 1}, []float64{1, 5}); b != 0 {
		t.Fatalf("slope over one x %v", b)
	}
}

func TestTrendsPerHourAfterWarmup(t *testing.T) {
	var s []Sample
	for i := range 31 {
		tm := time.Duration(i) * 10 * time.Second
		rss := int64(100<<20) + int64(i)*(1<<20) // +1 MiB every 10 s = 360 MiB/h
		if tm < time.Minute {
			rss = 500 << 20 // the warm-up, left out
		}
		s = append(s, Sample{T: tm, RSSBytes: rss, Goroutines: 50, Threads: 9, FDs: 20 + i})
	}
	tr := Trends(s, time.Minute)
	if tr[0].Name != "rss" || math.Abs(tr[0].PerHour-360) > 1e-6 || tr[0].N != 25 {
		t.Fatalf("rss trend %v", tr[0])
	}
	if tr[2].Name != "goroutines" || tr[2].PerHour != 0 || tr[4].Name != "fds" || math.Abs(tr[4].PerHour-360) > 1e-6 {
		t.Fatalf("trends %v", tr)
	}
}

func TestParseStatus(t *testing.T) {
	rss, th, err := parseStatus([]byte("Name:\tmediad\nVmRSS:\t  123456 kB\nThreads:\t17\n"))
	if err != nil || rss != 123456<<10 || th != 17 {
		t.Fatalf("%d %d %v", rss, th, err)
	}
	if _, _, err := parseStatus([]byte("Name:\tx\n")); err == nil {
		t.Fatal("no error without the fields")
	}
	// This process reads like any other.
	rss, th, fds, err := ReadProc(os.Getpid())
	if err != nil || rss <= 0 || th <= 0 || fds <= 0 {
		t.Fatalf("own process: %d %d %d %v", rss, th, fds, err)
	}
}

func TestParseMetrics(t *testing.T) {
	m := "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 42\ngo_memstats_heap_inuse_bytes 1.2345678e+07\ngo_threads 9\n"
	if got, err := parseMetrics(strings.NewReader(m)); err != nil || got.Goroutines != 42 || got.HeapBytes != 12345678 {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := parseMetrics(strings.NewReader("go_goroutines 9\n")); err == nil {
		t.Fatal("no error without the heap")
	}
}

func TestWriteCSVAndCharts(t *testing.T) {
	s := []Sample{{T: 0, RSSBytes: 50 << 20, HeapBytes: 20 << 20, Goroutines: 10, Threads: 5, FDs: 7, Viewers: 3}, {T: 10 * time.Second, RSSBytes: 51 << 20, HeapBytes: 21 << 20, Goroutines: 12, Threads: 5, FDs: 8, Viewers: 3}}
	var b bytes.Buffer
	if err := WriteCSV(&b, s); err != nil {
		t.Fatal(err)
	}
	if want := "t_s,rss_mib,go_heap_mib,goroutines,threads,fds,viewers_playing\n0.0,50.00,20.00,10,5,7,3\n10.0,51.00,21.00,12,5,8,3\n"; b.String() != want {
		t.Fatalf("csv %q", b.String())
	}
	dir := t.TempDir()
	if _, err := WriteCharts(dir, s); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"rss.png", "counts.png"} {
		if st, err := os.Stat(dir + "/" + f); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
}
