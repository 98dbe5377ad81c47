package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/internal/plot"
	"github.com/mutstream/mutstream/signaling"
)

// rfc8867Env marks the inner run of BenchmarkRFC8867ShapedLink, inside its
// namespace; rfc8867SummaryEnv names the file where the inner run leaves
// the figures the outer one reports as metrics.
const (
	rfc8867Env        = "MEDIAD_RFC8867_INNER"
	rfc8867SummaryEnv = "MEDIAD_RFC8867_SUMMARY"
)

// rfc8867Phase is one stretch of the capacity schedule.
type rfc8867Phase struct {
	dur  time.Duration
	bps  int
	best string // what the controller's rule picks at this capacity
}

// rfc8867Phases is RFC 8867 section 5.1 (variable available capacity, one
// flow: 1 Mb/s for 40 s, 2.5 Mb/s for 20 s, 0.6 Mb/s for 20 s, 1 Mb/s for
// 20 s) scaled x1.4 to this test's ladder, then two stretches of ours.
//
// The ladder of a 640x360 ffmpeg test pattern is: source (forwarded, about
// 2.0 Mb/s measured), 360p at 800 kb/s and 180p at 250 kb/s, with Opus at
// 96 kb/s and the packet overhead on the same shaped link. The controller
// takes a rung when its bitrate x 1.25 (headroom) fits the estimate and
// steps up when the smoothed estimate reaches 1.4 x the next rung, probing
// 10 % past that. Scaled x1.4 each phase has a different best rung:
// 1.4 Mb/s carries 360p (1.0 to 1.12 Mb/s needed, plus audio) but not the
// source (2.5 Mb/s); 3.5 Mb/s carries the source (2.8 Mb/s to step up,
// 3.1 Mb/s with the probe's overshoot, plus audio); 0.84 Mb/s carries 180p
// but not 360p. Scaled x1.2, the source's probe would overshoot a 3 Mb/s
// link; unscaled, 360p would have no room at 1 Mb/s.
//
// After the trace: 20 s at 150 kb/s, too thin for the lowest rung
// (frame-rate cap, then audio only), and 20 s back at 3.5 Mb/s (video
// returns and climbs); reported apart from the trace.
var rfc8867Phases = []rfc8867Phase{
	{40 * time.Second, 1_400_000, "360p"},
	{20 * time.Second, 3_500_000, "source"},
	{20 * time.Second, 840_000, "180p"},
	{20 * time.Second, 1_400_000, "360p"},
	{20 * time.Second, 150_000, "audio only"},
	{20 * time.Second, 3_500_000, "source"},
}

// rfc8867TracePhases is how many of rfc8867Phases are the RFC's trace.
const rfc8867TracePhases = 4

func kbit(bps int) string { return strconv.Itoa(bps/1000) + "kbit" }

// BenchmarkRFC8867ShapedLink plays the RFC 8867 section 5.1 trace (see
// rfc8867Phases) on a real shaped link: mediad, the ffmpeg publisher
// (640x360 30 fps over RTMP) and headless Chromium in a network namespace
// whose loopback shapes the media mediad sends (htb + a 60-packet pfifo,
// as TestShapedLink). Every 0.5 s it records the capacity, the viewer's
// estimate, smoothed estimate, rung and rung bitrate (the server's viewer
// history), and from Chromium's getStats() frameWidth, framesDecoded,
// freezeCount, totalFreezesDuration and bytesReceived (video + audio).
//
// It prints, as lines starting "FIGURE rfc8867" (on stdout: the testing
// package keeps only ten lines of a benchmark's log), for each capacity
// change the time to the first rung change and the first frameWidth
// change, the freezes and the link use when steady (received media rate
// over capacity in the last 10 s of each phase), switches per minute, and
// for the thin stretch the time to audio only and for video to return.
// With MEDIAD_PLOT_DIR set it writes rfc8867-shaped.csv and
// rfc8867-shaped.png there. Run it once, as root:
//
//	MEDIAD_PLOT_DIR=$PWD/docs go test -run '^$' -bench BenchmarkRFC8867ShapedLink -benchtime 1x -timeout 10m ./server/
func BenchmarkRFC8867ShapedLink(b *testing.B) {
	if os.Getenv(rfc8867Env) == "1" {
		rfc8867Inner(b)
		return
	}
	ns := shapedNamespace(b, "shaped-link benchmark", kbit(rfc8867Phases[0].bps))
	sum := filepath.Join(b.TempDir(), "summary.json")
	logf, err := os.CreateTemp("", "mediad-rfc8867-*.log")
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^$", "-test.bench=^BenchmarkRFC8867ShapedLink$",
		"-test.benchtime=1x", "-test.count=1", "-test.timeout=8m")
	cmd.Env = append(os.Environ(), rfc8867Env+"=1", rfc8867SummaryEnv+"="+sum)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		waited <- err
	}()
	// The inner run's own lines, as they come; everything to the log file.
	var tail []string
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		fmt.Fprintln(logf, l)
		tail = append(tail, l)
		if len(tail) > 40 {
			tail = tail[1:]
		}
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "FIGURE rfc8867") || strings.HasPrefix(t, "rfc8867:") {
			fmt.Println(t)
		}
	}
	_, _ = io.Copy(logf, pr) // past a line too long to scan, if any
	if err := <-waited; err != nil {
		b.Fatalf("inner run failed: %v; its output is in %s, ending:\n%s", err, logf.Name(), strings.Join(tail, "\n"))
	}
	b.Logf("the inner run's whole output (server logs included) is in %s", logf.Name())
	data, err := os.ReadFile(sum)
	if err != nil {
		b.Fatalf("no summary from the inner run: %v", err)
	}
	var metrics map[string]float64
	if err := json.Unmarshal(data, &metrics); err != nil {
		b.Fatal(err)
	}
	for unit, v := range metrics {
		b.ReportMetric(v, unit)
	}
}

// mediaStatsJS reads the player's inbound video and audio stats.
const mediaStatsJS = `(async () => {
  const pc = window.mediad && window.mediad.pc;
  if (!pc) return {};
  const r = await pc.getStats();
  const o = {w: 0, f: 0, fc: 0, fd: 0, vb: 0, ab: 0};
  r.forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    if (s.kind === 'video') { o.w = s.frameWidth || 0; o.f = s.framesDecoded || 0; o.fc = s.freezeCount || 0; o.fd = s.totalFreezesDuration || 0; o.vb = s.bytesReceived || 0; }
    if (s.kind === 'audio') o.ab = s.bytesReceived || 0;
  });
  return o;
})()`

type mediaStats struct {
	W  int     `json:"w"`
	F  int     `json:"f"`
	FC int     `json:"fc"`
	FD float64 `json:"fd"`
	VB int64   `json:"vb"`
	AB int64   `json:"ab"`
}

// rfc8867Poll is one read of the player's stats.
type rfc8867Poll struct {
	t time.Duration
	mediaStats
}

// rfc8867Row is one line of the CSV, every 0.5 s.
type rfc8867Row struct {
	t        time.Duration
	capacity int
	viewer   bool // the viewer's history was there
	sample   signaling.Sample
	poll     rfc8867Poll
	mediaBps int // received (video + audio payload) over the last second
}

// rfc8867Run is what the inner run saw.
type rfc8867Run struct {
	changes  []time.Duration // when each phase's rate was set; changes[0] = 0
	end      time.Duration
	polls    []rfc8867Poll
	rows     []rfc8867Row
	switches []signaling.Switch // T in seconds from the start
	first    time.Duration      // first frame decoded
	widths   map[string]int     // each rung's width
	capped   map[string]bool    // the ladder's frame-rate-capped variants
}

// rfc8867Inner runs inside the namespace.
func rfc8867Inner(b *testing.B) {
	srv, info := shapedStream(b)
	var ladder []string
	run := rfc8867Run{changes: []time.Duration{0}, widths: map[string]int{}, capped: map[string]bool{}}
	for _, r := range info.Rungs {
		ladder = append(ladder, fmt.Sprintf("%s %dx%d %d fps %d b/s", r.Name, r.Width, r.Height, r.FPS, r.Bitrate))
		run.widths[r.Name] = r.Width
		// A feed of the same size as another at a lower frame rate is
		// what the controller's frame-rate cap sends.
		for _, o := range info.Rungs {
			if o.Width == r.Width && o.Height == r.Height && o.FPS > r.FPS {
				run.capped[r.Name] = true
			}
		}
	}
	fmt.Printf("rfc8867: ladder %s (0 b/s: the source, at its measured rate)\n", strings.Join(ladder, ", "))
	browser := e2e.NewBrowser(b)
	start := time.Now()
	tab := browser.Open(b, srv.url("/watch/cam"))
	var total time.Duration
	bounds := []time.Duration{0}
	for _, p := range rfc8867Phases {
		total += p.dur
		bounds = append(bounds, total)
	}
	viewer := func() (signaling.ViewerInfo, bool) {
		vs := srv.whep.Viewers("cam")
		if len(vs) == 0 {
			return signaling.ViewerInfo{}, false
		}
		return vs[0], true
	}
	phase := 0
	nextRow := time.Duration(0)
	tick := time.NewTicker(100 * time.Millisecond)
	for range tick.C {
		t := time.Since(start)
		if t >= total {
			break
		}
		if phase+1 < len(rfc8867Phases) && t >= bounds[phase+1] {
			phase++
			setRate(b, kbit(rfc8867Phases[phase].bps))
			run.changes = append(run.changes, time.Since(start))
			fmt.Printf("rfc8867: %5.1f s: link at %d kb/s\n", time.Since(start).Seconds(), rfc8867Phases[phase].bps/1000)
		}
		var s mediaStats
		if err := tab.Eval(mediaStatsJS, &s); err != nil {
			continue
		}
		p := rfc8867Poll{t: time.Since(start), mediaStats: s}
		run.polls = append(run.polls, p)
		if run.first == 0 && s.F > 0 {
			run.first = p.t
		}
		if p.t < nextRow {
			continue
		}
		nextRow += 500 * time.Millisecond
		r := rfc8867Row{t: p.t, capacity: rfc8867Phases[phase].bps, poll: p}
		if v, ok := viewer(); ok && len(v.History) > 0 {
			r.viewer, r.sample = true, v.History[len(v.History)-1]
		}
		if prev := run.pollAt(p.t - time.Second); prev.t > 0 {
			if d := (p.VB + p.AB) - (prev.VB + prev.AB); d >= 0 {
				r.mediaBps = int(float64(d*8) / (p.t - prev.t).Seconds())
			}
		}
		run.rows = append(run.rows, r)
	}
	tick.Stop()
	run.end = time.Since(start)
	v, ok := viewer()
	if !ok {
		b.Fatal("the viewer is gone")
	}
	t0 := float64(start.UnixNano()) / 1e9
	for _, s := range v.Switches {
		s.T -= t0
		run.switches = append(run.switches, s)
	}
	if run.first == 0 {
		b.Fatal("the player never decoded a frame")
	}
	run.report(b)
	if dir := os.Getenv("MEDIAD_PLOT_DIR"); dir != "" {
		if err := run.writeCSV(filepath.Join(dir, "rfc8867-shaped.csv")); err != nil {
			b.Fatal(err)
		}
		if err := plot.WritePNG(filepath.Join(dir, "rfc8867-shaped.png"), run.chart().Draw()); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("rfc8867: wrote %s and %s\n", filepath.Join(dir, "rfc8867-shaped.csv"), filepath.Join(dir, "rfc8867-shaped.png"))
	}
}
