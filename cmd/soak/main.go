// Command soak runs mediad for a long while under a steady load and
// records whether it leaks: the demo stream plus ffmpeg CLI publishers over
// RTMP, and pion WHEP viewers spread over the streams and rungs (one of
// them replaced every -churn). Every -interval it samples the server's
// resident memory, threads and file descriptors (/proc) and goroutines
// (go_goroutines on /metrics), and at the end writes samples.csv, rss.png,
// counts.png and summary.txt (least-squares slopes per hour, the warm-up
// left out) under -out. `make soak` runs it; it is not part of make test.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mutstream/mutstream/internal/soak"
)

type options struct {
	mediad       string
	ffmpeg       string
	out          string
	duration     time.Duration
	warmup       time.Duration
	interval     time.Duration
	churn        time.Duration
	publishers   int
	viewers      int
	size         string
	metricsToken string
}

func main() {
	var o options
	flag.StringVar(&o.mediad, "mediad", "bin/mediad", "the mediad binary to soak")
	flag.StringVar(&o.ffmpeg, "ffmpeg", "ffmpeg", "the ffmpeg CLI that publishes")
	flag.StringVar(&o.out, "out", "bin/soak", "folder for samples.csv, the charts, summary.txt and mediad.log")
	flag.DurationVar(&o.duration, "duration", 30*time.Minute, "how long the load runs")
	flag.DurationVar(&o.warmup, "warmup", time.Minute, "samples before this are left out of the slopes")
	flag.DurationVar(&o.interval, "interval", 10*time.Second, "time between samples")
	flag.DurationVar(&o.churn, "churn", 10*time.Second, "one viewer leaves and another joins this often; 0 = never")
	flag.IntVar(&o.publishers, "publishers", 3, "streams: the demo plus this many minus one ffmpeg publishers")
	flag.IntVar(&o.viewers, "viewers", 50, "pion WHEP viewers, spread over the streams and rungs")
	flag.StringVar(&o.size, "size", "640x360", "the publishers' and the demo's picture size")
	flag.StringVar(&o.metricsToken, "metrics-token", "", "bearer token for /metrics, if the server wants one")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

const (
	publishToken = "soak-publish"
	adminToken   = "soak-admin"
)

func run(ctx context.Context, o options) error {
	if o.publishers < 1 || o.viewers < 0 || o.interval <= 0 {
		return errors.New("-publishers must be at least 1, -viewers at least 0, -interval positive")
	}
	var w, h int
	if _, err := fmt.Sscanf(o.size, "%dx%d", &w, &h); err != nil || w <= 0 || h <= 0 {
		return fmt.Errorf("-size %q: want WxH", o.size)
	}
	if o.publishers > 1 {
		if _, err := exec.LookPath(o.ffmpeg); err != nil {
			return fmt.Errorf("the publishers need the ffmpeg CLI (make test-deps): %w", err)
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	srv, err := startServer(o, w, h)
	if err != nil {
		return err
	}
	defer srv.stop()

	streams := []string{"demo"}
	for i := 1; i < o.publishers; i++ {
		name := fmt.Sprintf("soak%d", i)
		p := startPublisher(o, srv, name)
		defer p.stop()
		streams = append(streams, name)
	}
	for _, s := range streams {
		if err := srv.waitLive(ctx, s, time.Minute); err != nil {
			return err
		}
	}
	fmt.Printf("soak: %d streams live (%s); %d viewers joining\n", len(streams), strings.Join(streams, ", "), o.viewers)

	vs := newViewers(srv.base, streams, o.viewers)
	defer vs.closeAll()
	start := time.Now()
	samples, err := loop(ctx, o, srv, vs, start)
	werr := write(o, samples, vs, srv)
	return errors.Join(err, werr)
}

// loop samples every interval and churns viewers until the duration ends,
// the context is cancelled or the server dies.
func loop(ctx context.Context, o options, srv *server, vs *viewers, start time.Time) ([]soak.Sample, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	var samples []soak.Sample
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	var churn <-chan time.Time
	if o.churn > 0 {
		ct := time.NewTicker(o.churn)
		defer ct.Stop()
		churn = ct.C
	}
	end := time.After(o.duration)
	vs.fill(ctx)
	warned := false
	for {
		select {
		case <-ctx.Done():
			return samples, nil
		case <-end:
			return samples, nil
		case <-srv.done:
			return samples, fmt.Errorf("mediad exited during the soak: %v (see %s)", srv.err, filepath.Join(o.out, "mediad.log"))
		case <-churn:
			vs.churnOne()
		case <-tick.C:
			vs.fill(ctx)
			rss, threads, fds, err := soak.ReadProc(srv.cmd.Process.Pid)
			if err != nil {
				return samples, fmt.Errorf("read the server's /proc: %w", err)
			}
			m, err := soak.ReadMetrics(client, srv.base+"/metrics", o.metricsToken)
			if err != nil {
				m = soak.Metrics{Goroutines: -1, HeapBytes: -1}
				if !warned {
					fmt.Fprintln(os.Stderr, "soak: goroutines not sampled:", err)
					warned = true
				}
			}
			s := soak.Sample{T: time.Since(start), RSSBytes: rss, HeapBytes: m.HeapBytes, Threads: threads, FDs: fds, Goroutines: m.Goroutines, Viewers: vs.playing()}
			samples = append(samples, s)
			fmt.Printf("%6.0fs rss %7.1f MiB  go heap %6.1f MiB  goroutines %5d  threads %3d  fds %4d  viewers playing %d/%d\n",
				s.T.Seconds(), float64(rss)/(1<<20), float64(m.HeapBytes)/(1<<20), m.Goroutines, threads, fds, s.Viewers, o.viewers)
		}
	}
}

// write saves the samples, charts and summary, and prints the summary.
func write(o options, samples []soak.Sample, vs *viewers, srv *server) error {
	f, err := os.Create(filepath.Join(o.out, "samples.csv"))
	if err != nil {
		return err
	}
	if err := soak.WriteCSV(f, samples); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	scales, err := soak.WriteCharts(o.out, samples)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "go run ./cmd/soak %s\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(&b, "%d streams (demo + %d ffmpeg RTMP publishers, %s), %d pion WHEP viewers, one replaced every %v; %d samples every %v\n",
		o.publishers, o.publishers-1, o.size, o.viewers, o.churn, len(samples), o.interval)
	fmt.Fprintf(&b, "viewer joins: %d, refused or failed: %d; publisher restarts: %d\n", vs.joins, vs.failures, srv.restarts.Load())
	fmt.Fprintf(&b, "slopes from %v on:\n", o.warmup)
	for _, t := range soak.Trends(samples, o.warmup) {
		fmt.Fprintf(&b, "  %s\n", t)
	}
	fmt.Fprintln(&b, scales)
	if err := os.WriteFile(filepath.Join(o.out, "summary.txt"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(b.String())
	fmt.Printf("written: %s/{samples.csv,rss.png,counts.png,summary.txt,mediad.log}\n", o.out)
	return nil
}

// freePort returns a port that was free on 127.0.0.1 for network.
func freePort(network string) (int, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
