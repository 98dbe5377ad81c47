package server

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/stream"
)

// shapedEnv marks the inner run of TestShapedLink, inside its namespace.
const shapedEnv = "MEDIAD_SHAPED_INNER"

// TestShapedLink plays a stream in Chromium over a link shaped with tc in a
// network namespace (only the media mediad sends, so the viewer's feedback,
// RTMP ingest and HTTP are untouched):
// 5 Mb/s, then 600 kb/s, then 5 Mb/s. The picture must step down to a rung
// the link carries, without long freezes, and climb back. The test re-runs
// itself inside a fresh namespace whose loopback has a 1500-byte MTU.
func TestShapedLink(t *testing.T) {
	if os.Getenv(shapedEnv) == "1" {
		shapedInner(t)
		return
	}
	out, err := runShapedInner(t, "shaped-link test", shapedEnv, "6m", "-test.run=^TestShapedLink$")
	relayInner(t, out, "shaped_test.go", "rung switched", "msg=adapt", "msg=congestion", "video held", "video hold")
	if err != nil {
		t.Fatalf("inner run failed: %v", err)
	}
}

// runShapedInner re-runs this test binary (args, -test.timeout timeout)
// inside a fresh shaped namespace (shapedNamespace, what names the test)
// with env=1 set, and returns its output. With MEDIAD_SHAPED_LOG set, the
// whole inner run is also written there, for reading its decisions after.
func runShapedInner(tb testing.TB, what, env, timeout string, args ...string) (string, error) {
	tb.Helper()
	ns := shapedNamespace(tb, what, "5mbit")
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, os.Args[0], "-test.v", "-test.count=1", "-test.timeout=" + timeout}, args...)...)
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	if path := os.Getenv("MEDIAD_SHAPED_LOG"); path != "" {
		if werr := os.WriteFile(path, out, 0o644); werr != nil {
			tb.Logf("MEDIAD_SHAPED_LOG: %v", werr)
		}
	}
	return string(out), err
}

// relayInner logs the lines of an inner run's output that contain one of
// marks, and its "---" result lines.
func relayInner(tb testing.TB, out string, marks ...string) {
	tb.Helper()
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		keep := strings.HasPrefix(l, "---")
		for _, m := range marks {
			keep = keep || strings.Contains(l, m)
		}
		if keep {
			tb.Log(l)
		}
	}
}

// shapedNamespace skips t (its messages name what) unless ffmpeg, Chromium,
// root, ip and tc are here and a network namespace can be made; then it
// makes one, deleted when t ends, whose loopback has a 1500-byte MTU, all
// traffic in an unshaped htb class 1:10 by default, and a class 1:20 at
// rate (setRate changes it) feeding a 60-packet pfifo. shapeMedia, run
// inside, puts the media that mediad sends in 1:20. It returns the name.
func shapedNamespace(t testing.TB, what, rate string) string {
	t.Helper()
	e2e.FFmpegPath(t)
	e2e.ChromiumPath(t)
	if os.Geteuid() != 0 {
		t.Skipf("%s skipped: it needs root for a network namespace and tc", what)
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s skipped: %s not installed (Debian package iproute2)", what, tool)
		}
	}
	ns := fmt.Sprintf("mediadtest%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("%s skipped: network namespaces not permitted here: %v: %s", what, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	in := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	in("ip", "link", "set", "lo", "mtu", "1500")
	in("ip", "link", "set", "lo", "up")
	in("tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10")
	in("tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit")
	in("tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", rate, "ceil", rate)
	if os.Getenv("MEDIAD_SHAPED_GSO_QUEUE") != "" {
		// The fifo holds GSO messages whole: the model before datagrams.
		in("tc", "qdisc", "add", "dev", "lo", "parent", "1:20", "handle", "20:", "pfifo", "limit", "60")
		return ns
	}
	// The bottleneck queues 60 datagrams, as a router on the path does.
	// mediad sends a viewer's back-to-back packets as one UDP GSO message
	// (webrtc.write_batch.gso), which the local qdisc holds whole until
	// the device splits it: a 60-packet fifo then held 60 messages
	// (measured: 108 KB in 28 of them, 1.4 s at 600 kb/s) and htb let each
	// out as one burst, which hid the link's fall from the link meter's
	// arrival spacing. A tbf that passes everything (10 Gb/s) but splits
	// any message over its 3000-byte burst into datagrams goes in front
	// of the fifo; htb then shapes datagrams.
	in("tc", "qdisc", "add", "dev", "lo", "parent", "1:20", "handle", "20:", "tbf", "rate", "10gbit", "burst", "3000", "limit", "10000000")
	in("tc", "qdisc", "add", "dev", "lo", "parent", "20:1", "handle", "30:", "pfifo", "limit", "60")
	return ns
}

// shapeMedia, inside the namespace, puts only what srv sends over UDP in
// the shaped class: the viewer's downlink. Its feedback, RTMP ingest and
// HTTP are not shaped.
func shapeMedia(t testing.TB, srv *Server) {
	t.Helper()
	port := strconv.Itoa(srv.UDPAddr().(*net.UDPAddr).Port)
	if out, err := exec.Command("tc", "filter", "add", "dev", "lo", "protocol", "ip", "parent", "1:0", "prio", "1", "u32",
		"match", "ip", "protocol", "17", "0xff", "match", "ip", "sport", port, "0xffff", "flowid", "1:20").CombinedOutput(); err != nil {
		t.Fatalf("tc filter: %v: %s", err, out)
	}
}

type videoStats struct {
	W  int     `json:"w"`
	F  int     `json:"f"`
	FC int     `json:"fc"`
	FD float64 `json:"fd"`
}

const videoStatsJS = `(async () => {
  const pc = window.mediad && window.mediad.pc;
  if (!pc) return {};
  const r = await pc.getStats();
  let o = {};
  r.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') o = {w: s.frameWidth || 0, f: s.framesDecoded || 0, fc: s.freezeCount || 0, fd: s.totalFreezesDuration || 0}; });
  return o;
})()`

// setRate sets the shaped class to rate (a tc rate: "600kbit"), inside
// the namespace.
func setRate(t testing.TB, rate string) {
	t.Helper()
	if out, err := exec.Command("tc", "class", "change", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", rate, "ceil", rate).CombinedOutput(); err != nil {
		t.Fatalf("tc: %v: %s", err, out)
	}
}

// shapedStream, inside the namespace, starts mediad with what it sends
// shaped (the viewer's downlink; its feedback, RTMP ingest and HTTP are
// not), publishes the 640x360 30 fps test pattern as "cam" and waits for
// it to go live. Both end with tb.
func shapedStream(tb testing.TB) (*Server, stream.Info) {
	tb.Helper()
	srv := startServer(tb, false)
	tb.Cleanup(srv.Close)
	shapeMedia(tb, srv)
	e2e.PublishTestPattern(tb, srv.rtmpURL("cam", testToken), "640x360", 30, 0)
	return srv, waitLive(tb, srv, "cam", 30*time.Second)
}

// shapedInner runs inside the namespace.
func shapedInner(t *testing.T) {
	srv, _ := shapedStream(t)
	browser := e2e.NewBrowser(t)
	tab := browser.Open(t, srv.url("/watch/cam"))
	sample := func() videoStats {
		var s videoStats
		_ = tab.Eval(videoStatsJS, &s)
		return s
	}
	// Wait for the top rung at 5 Mb/s.
	deadline := time.Now().Add(60 * time.Second)
	for s := sample(); s.W != 640 || s.F < 60; s = sample() {
		if time.Now().After(deadline) {
			var st any
			_ = tab.Eval("({state: window.mediad && window.mediad.state, status: document.getElementById('status') && document.getElementById('status').textContent, stats: window.mediad && window.mediad.stats})", &st)
			t.Fatalf("never reached the top rung at 5 Mb/s: %+v; player %v", s, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("playing 640 wide at 5 Mb/s")
	time.Sleep(3 * time.Second)

	setRate(t, "600kbit")
	drop := time.Now()
	t.Logf("link at 600 kb/s from %s", drop.UTC().Format("15:04:05.000"))
	atDrop := watchPlayback(t, sample, 20*time.Second, func(s videoStats) bool { return s.W > 0 && s.W < 640 })
	t.Logf("FIGURE step-down: %s after the drop to 600 kb/s; %s", atDrop.reached(), atDrop.freezes())

	setRate(t, "5mbit")
	t.Logf("link at 5 Mb/s from %s", time.Now().UTC().Format("15:04:05.000"))
	atRecovery := watchPlayback(t, sample, 20*time.Second, func(s videoStats) bool { return s.W == 640 })
	t.Logf("FIGURE climb-back: %s after the link returned to 5 Mb/s; %s", atRecovery.reached(), atRecovery.freezes())

	// The budgets are down within 2 s, no freeze over 300 ms and
	// back within 10 s; the figures above are what BENCHMARKS.md reports.
	// What is asserted leaves room for a loaded 2-core CI machine.
	if atDrop.at < 0 || atDrop.at > 5*time.Second {
		t.Errorf("the picture did not step down within 5 s of the drop to 600 kb/s (%s)", atDrop.reached())
	}
	if atDrop.maxWidthAfter >= 640 {
		t.Errorf("the picture went back up to %d wide on a 600 kb/s link", atDrop.maxWidthAfter)
	}
	if atRecovery.at < 0 || atRecovery.at > 20*time.Second {
		t.Errorf("the picture did not climb back within 20 s of the link's return (%s)", atRecovery.reached())
	}
}

// playback is what watchPlayback saw.
type playback struct {
	at            time.Duration // when the condition first held; -1 = never
	freezeCount   int
	freezeTotal   time.Duration
	longest       time.Duration // the longest single freeze
	maxWidthAfter int           // the widest frame from 2 s after the condition held
}

func (p playback) reached() string {
	if p.at < 0 {
		return "not reached"
	}
	return fmt.Sprintf("reached in %.1f s", p.at.Seconds())
}

func (p playback) freezes() string {
	return fmt.Sprintf("freezes: %d, longest %.0f ms, %.0f ms in all", p.freezeCount, float64(p.longest.Milliseconds()), float64(p.freezeTotal.Milliseconds()))
}

// watchPlayback samples the viewer's stats every 50 ms for d: when cond
// first holds, and each freeze (Chrome's freezeCount and
// totalFreezesDuration; at this sampling rate each new freeze shows alone).
func watchPlayback(t testing.TB, sample func() videoStats, d time.Duration, cond func(videoStats) bool) playback {
	t.Helper()
	p := playback{at: -1}
	start := time.Now()
	prev := sample()
	debug := os.Getenv("MEDIAD_TEST_DEBUG") != ""
	var trail []string // with debug: the latest samples' frames decoded and width
	for time.Since(start) < d {
		time.Sleep(50 * time.Millisecond)
		s := sample()
		if debug {
			if trail = append(trail, fmt.Sprintf("%s:%d/%d", time.Now().UTC().Format("05.000"), s.F, s.W)); len(trail) > 24 {
				trail = trail[1:]
			}
		}
		if s.FC > prev.FC {
			dur := time.Duration((s.FD - prev.FD) * float64(time.Second))
			p.freezeCount += s.FC - prev.FC
			p.freezeTotal += dur
			t.Logf("freeze of %.0f ms seen %.2f s in, %d wide", float64(dur.Milliseconds()), time.Since(start).Seconds(), s.W)
			if debug {
				t.Logf("frames decoded before it, every 50 ms: %v", trail)
			}
			if s.FC-prev.FC == 1 && dur > p.longest {
				p.longest = dur
			}
		}
		if p.at < 0 && cond(s) {
			p.at = time.Since(start)
		}
		if p.at >= 0 && time.Since(start) > p.at+2*time.Second && s.W > p.maxWidthAfter {
			p.maxWidthAfter = s.W
		}
		if s.F > 0 {
			prev = s
		}
	}
	return p
}
