// Command fanout measures what a media server spends per WebRTC viewer:
// it publishes one stream (ffmpeg CLI, 640x360 1 Mb/s H.264 without
// B-frames, over RTMP), then joins pion WHEP viewers step by step (-n) and,
// after a warm-up, measures over -window the server's CPU (/proc/PID/stat)
// per viewer-second, total and marginal over the server's idle CPU, what
// each viewer received, its own CPU and the machine's idle share. It runs
// mediad (-mediad), MediaMTX (-mediamtx) or both, both at once with the
// windows taking turns (-rounds per server at each N, the order reversed
// each round, the median reported), or measures a server already running
// (-url and -pid). One line per window on stdout, then the medians and,
// with both servers, the per-round ratios; fanout.csv, fanout.png,
// fanout-rounds.csv and fanout-pairs.csv under -out. `make bench-fanout`
// runs it.
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
	mediad, mediadB        string
	mediamtx, ffmpeg       string
	url                    string
	pid                    int
	rung                   string
	steps                  []int
	rate                   float64
	warmup, window, settle time.Duration
	out                    string
	pprofN                 int
	rounds                 int
}

func main() {
	var o options
	var steps string
	flag.StringVar(&o.mediad, "mediad", "", "a mediad binary to start and measure (e.g. bin/mediad)")
	flag.StringVar(&o.mediadB, "mediad-b", "", "a second mediad binary (another build), measured against the first (e.g. an A/B of a change)")
	flag.StringVar(&o.mediamtx, "mediamtx", "", "a MediaMTX binary to start and measure beside mediad")
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
	flag.IntVar(&o.rounds, "rounds", 3, "windows per server at each N, servers taking turns; the median is reported")
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
	var (
		out outcome
		err error
	)
	if o.url != "" {
		out, err = measureAll(ctx, o, []*target{{name: "server", url: o.url, pid: o.pid}})
	} else {
		var specs []serverSpec
		if o.mediad != "" {
			specs = append(specs, serverSpec{name: "mediad", bin: o.mediad})
		}
		if o.mediadB != "" {
			specs = append(specs, serverSpec{name: "mediad-b", bin: o.mediadB})
		}
		if o.mediamtx != "" {
			specs = append(specs, serverSpec{name: "mediamtx", bin: o.mediamtx, mediamtx: true})
		}
		out, err = runServers(ctx, o, specs)
	}
	return errors.Join(err, out.write(o.out))
}

// outcome is a run's figures: each server's median round per N, every
// round, and the first two servers' pairs per N.
type outcome struct {
	medians, rounds []fanout.Result
	pairs           []fanout.Pair
}

// serverSpec is a server to start: a name for its lines and files, its
// binary, and whether it is MediaMTX (else mediad).
type serverSpec struct {
	name, bin string
	mediamtx  bool
}

// target is one server under measurement.
type target struct {
	name, url string
	pid       int
	s         *server // nil for a server this tool did not start
	b         *fanout.Bench
	prof      *profiler
}

// runServers starts every server with its own publisher in a fresh
// folder, waits until each plays, and measures them all, interleaved
// (measureAll). Every server runs, published, for the whole run, so each
// one's windows see the others idle with their streams: the same load.
func runServers(ctx context.Context, o options, specs []serverSpec) (outcome, error) {
	if _, err := exec.LookPath(o.ffmpeg); err != nil {
		return outcome{}, fmt.Errorf("the publisher needs the ffmpeg CLI (make test-deps): %w", err)
	}
	var ts []*target
	defer func() {
		for _, t := range ts {
			t.s.stop()
			_ = copyFile(t.s.log.Name(), filepath.Join(o.out, t.name+".log"))
			_ = os.RemoveAll(t.s.dir)
		}
	}()
	for _, sp := range specs {
		dir, err := os.MkdirTemp("", "fanout-"+sp.name+"-")
		if err != nil {
			return outcome{}, err
		}
		var s *server
		if sp.mediamtx {
			s, err = startMediaMTX(sp.bin, dir)
		} else {
			s, err = startMediad(sp.bin, dir, o.rung, o.pprofN > 0)
		}
		if err != nil {
			os.RemoveAll(dir)
			return outcome{}, err
		}
		s.dir = dir
		ts = append(ts, &target{name: sp.name, url: s.whep, pid: s.cmd.Process.Pid, s: s})
		if err := s.waitListening(ctx, 30*time.Second); err != nil {
			return outcome{}, err
		}
		s.publish(o.ffmpeg)
	}
	for _, t := range ts {
		if err := t.s.waitPlayable(ctx, 60*time.Second); err != nil {
			return outcome{}, err
		}
		fmt.Printf("fanout: %s pid %d playing at %s\n", t.name, t.pid, t.url)
	}
	return measureAll(ctx, o, ts)
}

// measureAll measures each target idle (stream published, no viewer),
// then, at every N, o.rounds windows per target, the targets taking turns
// and the order reversing each round (A B, B A, A B...), each window from
// no viewer: N viewers join, play, the window runs, all leave. The
// machine's speed drifts within minutes; back-to-back windows see about
// the same machine, so the per-round ratio of the first two targets is
// the fair comparison. It returns each target's median round per N and,
// with two or more targets, the first two's pairs.
func measureAll(ctx context.Context, o options, ts []*target) (outcome, error) {
	select {
	case <-ctx.Done():
		return outcome{}, ctx.Err()
	case <-time.After(o.settle):
	}
	rounds := max(o.rounds, 1)
	for _, t := range ts {
		t.b = &fanout.Bench{Server: t.name, URL: t.url, PID: t.pid, Rate: o.rate, Warmup: o.warmup, Window: o.window,
			ConnectTimeout: 10*time.Second + time.Duration(float64(time.Second)*float64(o.steps[len(o.steps)-1])/o.rate),
			Log:            os.Stderr}
		defer t.b.Close()
		if t.s != nil {
			t.b.PublisherRestarts = t.s.restarts.Load
		}
		if t.s != nil && t.s.pprof != "" && o.pprofN > 0 {
			t.prof = &profiler{base: t.s.pprof, out: o.out, name: t.name, n: o.pprofN, window: o.window}
			t.b.WindowStart = t.prof.start
			defer t.prof.wait()
		}
		idle, err := t.b.MeasureIdle(ctx)
		if err != nil {
			return outcome{}, err
		}
		fmt.Printf("%-8s idle (stream published, no viewer): %.1f ms CPU/s, machine idle %.0f%%\n", t.name, idle.ServerCPUMsPerS, idle.MachineIdlePct)
	}
	var out outcome
	for _, n := range o.steps {
		got := make([][]fanout.Result, len(ts))
		for r := range rounds {
			for k := range ts {
				i := k
				if r%2 == 1 {
					i = len(ts) - 1 - k
				}
				w, err := stepOnce(ctx, ts[i], n)
				if err != nil {
					for j := range ts {
						if len(got[j]) > 0 {
							out.medians = append(out.medians, fanout.Median(got[j]))
						}
					}
					return out, err
				}
				fmt.Printf("round %d/%d: %v\n", r+1, rounds, w)
				got[i] = append(got[i], w)
				out.rounds = append(out.rounds, w)
			}
		}
		for i := range ts {
			m := fanout.Median(got[i])
			out.medians = append(out.medians, m)
			if rounds > 1 {
				fmt.Printf("median:    %v\n", m)
			}
		}
		if len(ts) >= 2 {
			p := fanout.NewPair(got[0], got[1])
			out.pairs = append(out.pairs, p)
			fmt.Println(p)
		}
	}
	return out, nil
}

// stepOnce measures n viewers of t from none and ends them. With a
// server this tool started, a window that saw the publisher restart is
// run again, up to twice: a server may end its viewers' sessions with
// the publisher's.
func stepOnce(ctx context.Context, t *target, n int) (fanout.Result, error) {
	defer t.b.Close()
	r, err := t.b.Step(ctx, n)
	for try := 0; err == nil && r.PublisherRestarts > 0 && t.s != nil && try < 2; try++ {
		fmt.Println(r)
		fmt.Printf("fanout: %s: the publisher restarted during the window; measuring %d viewers again\n", t.name, n)
		t.b.Close()
		if err = t.s.waitPlayable(ctx, 60*time.Second); err == nil {
			r, err = t.b.Step(ctx, n)
		}
	}
	if t.prof != nil {
		t.prof.wait()
	}
	return r, err
}

// write saves the figures under dir: fanout.csv (the medians) and
// fanout.png (their curve), fanout-rounds.csv (every window) and, with
// two servers, fanout-pairs.csv (the per-round ratios per N).
func (o outcome) write(dir string) error {
	if len(o.medians) == 0 {
		return nil
	}
	err := errors.Join(
		writeCSV(filepath.Join(dir, "fanout.csv"), fanout.CSVHeader, o.medians, fanout.Result.CSVRecord),
		writeCSV(filepath.Join(dir, "fanout-rounds.csv"), fanout.CSVHeader, o.rounds, fanout.Result.CSVRecord))
	if len(o.pairs) > 0 {
		err = errors.Join(err, writeCSV(filepath.Join(dir, "fanout-pairs.csv"), fanout.PairCSVHeader, o.pairs, fanout.Pair.CSVRecord))
	}
	png := filepath.Join(dir, "fanout.png")
	if err = errors.Join(err, fanout.WriteCurve(png, o.medians)); err != nil {
		return err
	}
	fmt.Printf("fanout: wrote %s and the CSV files beside it\n", png)
	return nil
}

func writeCSV[T any](path string, header []string, rows []T, record func(T) []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write(header)
	for _, r := range rows {
		_ = w.Write(record(r))
	}
	w.Flush()
	return errors.Join(w.Error(), f.Close())
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
