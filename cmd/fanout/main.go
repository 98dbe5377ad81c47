// Command fanout measures what a media server spends per WebRTC viewer:
// it publishes one stream (ffmpeg CLI, 640x360 1 Mb/s H.264 without
// B-frames, over RTMP), then joins pion WHEP viewers step by step (-n) and,
// after a warm-up, measures over -window the server's CPU (/proc/PID/stat)
// per viewer-second, total and marginal over the server's idle CPU, what
// each viewer received, its own CPU and the machine's idle share. It runs
// mediad (-mediad), MediaMTX (-mediamtx) or both, one after the other, or
// measures a server already running (-url and -pid). One line per step on
// stdout; fanout.csv and fanout.png under -out. `make bench-fanout` runs it.
package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mutstream/mutstream/internal/fanout"
)

type options struct {
	mediad, mediamtx, ffmpeg string
	url                      string
	pid                      int
	rung                     string
	steps                    []int
	rate                     float64
	warmup, window, settle   time.Duration
	out                      string
	pprofN                   int
}

func main() {
	var o options
	var steps string
	flag.StringVar(&o.mediad, "mediad", "", "a mediad binary to start and measure (e.g. bin/mediad)")
	flag.StringVar(&o.mediamtx, "mediamtx", "", "a MediaMTX binary to start and measure after mediad")
	flag.StringVar(&o.ffmpeg, "ffmpeg", "ffmpeg", "the ffmpeg CLI that publishes")
	flag.StringVar(&o.url, "url", "", "measure a running server instead: its WHEP URL (the stream published)")
	flag.IntVar(&o.pid, "pid", 0, "with -url: the server's process id")
	flag.StringVar(&o.rung, "rung", "source", "mediad: the rung viewers ask for (?rung=); empty = automatic")
	flag.StringVar(&steps, "n", "20,50,100,200,400", "viewer counts, ascending, comma-separated")
	flag.Float64Var(&o.rate, "rate", 20, "viewer joins per second")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "after every viewer plays, before a window")
	flag.DurationVar(&o.window, "window", 20*time.Second, "each measurement")
	flag.DurationVar(&o.settle, "settle", 5*time.Second, "after the stream plays, before the idle window")
	flag.StringVar(&o.out, "out", "bin/fanout", "folder for fanout.csv, fanout.png, profiles and server logs")
	flag.IntVar(&o.pprofN, "pprof-n", 0, "mediad: at this step, a CPU profile over the window and allocation profiles at its start and end (0 = none)")
	flag.Parse()
	for _, f := range strings.Split(steps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || (len(o.steps) > 0 && n <= o.steps[len(o.steps)-1]) {
			fmt.Fprintf(os.Stderr, "fanout: -n %q: want ascending positive counts\n", steps)
			os.Exit(2)
		}
		o.steps = append(o.steps, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.mediad == "" && o.mediamtx == "" && (o.url == "" || o.pid <= 0) {
		return errors.New("give -mediad and/or -mediamtx, or -url and -pid")
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	var all []fanout.Result
	if o.url != "" {
		res, err := measure(ctx, o, "server", o.url, o.pid, "", nil)
		all = append(all, res...)
		if err != nil {
			return err
		}
	}
	for _, srv := range []struct{ name, bin string }{{"mediad", o.mediad}, {"mediamtx", o.mediamtx}} {
		if srv.bin == "" {
			continue
		}
		res, err := runServer(ctx, o, srv.name, srv.bin)
		all = append(all, res...)
		if err != nil {
			_ = write(o.out, all)
			return err
		}
	}
	return write(o.out, all)
}

// runServer starts one server and its publisher in a fresh folder, waits
// for the stream to play, measures, and stops both.
func runServer(ctx context.Context, o options, name, bin string) ([]fanout.Result, error) {
	if _, err := exec.LookPath(o.ffmpeg); err != nil {
		return nil, fmt.Errorf("the publisher needs the ffmpeg CLI (make test-deps): %w", err)
	}
	dir, err := os.MkdirTemp("", "fanout-"+name+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var s *server
	if name == "mediad" {
		s, err = startMediad(bin, dir, o.rung, o.pprofN > 0)
	} else {
		s, err = startMediaMTX(bin, dir)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		s.stop()
		_ = copyFile(s.log.Name(), filepath.Join(o.out, name+".log"))
	}()
	if err := s.waitListening(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	s.publish(o.ffmpeg)
	if err := s.waitPlayable(ctx, 60*time.Second); err != nil {
		return nil, err
	}
	fmt.Printf("fanout: %s pid %d playing at %s\n", name, s.cmd.Process.Pid, s.whep)
	return measure(ctx, o, name, s.whep, s.cmd.Process.Pid, s.pprof, s)
}

// measure runs the idle window and every step against one server. With
// s (a server this tool started), a step whose window saw the publisher
// restart is run again, up to twice, from no viewer: a server may end its
// viewers' sessions with the publisher's.
func measure(ctx context.Context, o options, name, url string, pid int, pprof string, s *server) ([]fanout.Result, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(o.settle):
	}
	b := &fanout.Bench{Server: name, URL: url, PID: pid, Rate: o.rate, Warmup: o.warmup, Window: o.window,
		ConnectTimeout: 10*time.Second + time.Duration(float64(time.Second)*float64(o.steps[len(o.steps)-1])/o.rate),
		Log:            os.Stderr}
	defer b.Close()
	var prof *profiler
	if pprof != "" && o.pprofN > 0 {
		prof = &profiler{base: pprof, out: o.out, name: name, n: o.pprofN, window: o.window}
		b.WindowStart = prof.start
		defer prof.wait()
	}
	idle, err := b.MeasureIdle(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Printf("%-8s idle (stream published, no viewer): %.1f ms CPU/s, machine idle %.0f%%\n", name, idle.ServerCPUMsPerS, idle.MachineIdlePct)
	var res []fanout.Result
	for _, n := range o.steps {
		r, err := b.Step(ctx, n)
		for try := 0; err == nil && r.PublisherRestarts > 0 && s != nil && try < 2; try++ {
			fmt.Println(r)
			fmt.Printf("fanout: %s: the publisher restarted during the window; measuring %d viewers again\n", name, n)
			b.Close()
			if err = s.waitPlayable(ctx, 60*time.Second); err == nil {
				r, err = b.Step(ctx, n)
			}
		}
		if err != nil {
			return res, err
		}
		if prof != nil {
			prof.wait()
		}
		fmt.Println(r)
		res = append(res, r)
	}
	return res, nil
}

// write saves the results as fanout.csv and fanout.png under out.
func write(out string, res []fanout.Result) error {
	if len(res) == 0 {
		return nil
	}
	f, err := os.Create(filepath.Join(out, "fanout.csv"))
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write(fanout.CSVHeader)
	for _, r := range res {
		_ = w.Write(r.CSVRecord())
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		return err
	}
	png := filepath.Join(out, "fanout.png")
	if err := fanout.WriteCurve(png, res); err != nil {
		return err
	}
	fmt.Printf("fanout: wrote %s and %s\n", f.Name(), png)
	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
