package server

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
)

// freezeEnv marks the inner run of TestShapedSourceFreeze, inside its
// namespace.
const freezeEnv = "MEDIAD_FREEZE_INNER"

// freezeBar is the longest single freeze the test accepts over the whole
// case. The goal is under 500 ms (BenchmarkShapedSourceFreeze reports the
// figure); what is asserted leaves room for a loaded 2-core machine, where
// Chromium alone can stall a 720p picture a few hundred milliseconds, and
// still fails on a freeze that waits for the next scheduled keyframe (the
// GOP is 2 s: such freezes last 1.1 to 2 s).
const freezeBar = time.Second

// TestShapedSourceFreeze plays a 1280x720 3 Mb/s H.264 source on its
// source rung (forwarded as published) in Chromium, under automatic
// adaptation, over a link shaped to 5 Mb/s, then 600 kb/s, then 5 Mb/s,
// whose queue holds 60 datagrams (shapedNamespace).
// The picture must step down without a long freeze: the source rung's
// keyframes, several times what 600 kb/s carries in a frame's time, must
// not overflow the link's queue on the way down.
func TestShapedSourceFreeze(t *testing.T) {
	if os.Getenv(freezeEnv) == "1" {
		r := freezeInner(t)
		if r.longest() > freezeBar {
			t.Errorf("longest freeze %s (%s at the drop, %s while at 600 kb/s, %s after the return to 5 Mb/s); at most %s accepted (the goal is 500 ms)",
				r.longest(), r.drop.longest, r.low.longest, r.back.longest, freezeBar)
		}
		return
	}
	runFreezeOuter(t, "^TestShapedSourceFreeze$")
}

// BenchmarkShapedSourceFreeze runs the case of TestShapedSourceFreeze once
// per iteration and reports its longest freeze (ms) over the whole case,
// the freezes' total per run, and the longest stall of the decoded frames
// as sampled every 50 ms (which includes the sampling's own delays).
func BenchmarkShapedSourceFreeze(b *testing.B) {
	if os.Getenv(freezeEnv) == "1" {
		var longest, total, stall time.Duration
		for range b.N {
			r := freezeInner(b)
			stall = max(stall, r.stall)
			longest = max(longest, r.longest())
			total += r.drop.freezeTotal + r.low.freezeTotal + r.back.freezeTotal
		}
		b.ReportMetric(float64(longest.Milliseconds()), "longest-freeze-ms")
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "freeze-total-ms")
		b.ReportMetric(float64(stall.Milliseconds()), "longest-stall-ms")
		return
	}
	runFreezeOuter(b, "^$", "-test.bench=^BenchmarkShapedSourceFreeze$", "-test.benchtime=1x")
}

// runFreezeOuter re-runs the test binary inside a fresh shaped namespace
// and relays its findings.
func runFreezeOuter(tb testing.TB, run string, extra ...string) {
	out, err := runShapedInner(tb, "source-rung freeze test", freezeEnv, "4m", append([]string{"-test.run=" + run}, extra...)...)
	if b, ok := tb.(*testing.B); ok {
		for _, l := range strings.Split(out, "\n") {
			if !strings.HasPrefix(l, "BenchmarkShapedSourceFreeze") {
				continue
			}
			// The inner run's figures are this benchmark's.
			f := strings.Fields(l)
			for i := 2; i+1 < len(f); i += 2 {
				if v, err := strconv.ParseFloat(f[i], 64); err == nil && f[i+1] != "ns/op" {
					b.ReportMetric(v, f[i+1])
				}
			}
		}
	}
	if f := os.Getenv("MEDIAD_FREEZE_LOG"); f != "" {
		// The inner run's whole output, for a look at its debug log.
		_ = os.WriteFile(f, []byte(out), 0o644)
	}
	relayInner(tb, out, "freeze_shaped_test.go", "shaped_test.go", "rung switched", "video hold", "video held")
	if err != nil {
		tb.Fatalf("inner run failed: %v", err)
	}
}

// sampleBottleneck, with MEDIAD_TEST_DEBUG, logs the shaped link's
// queue (bytes and packets waiting, drops) every 200 ms for 2.4 s; the
// channel closes when it is done.
func sampleBottleneck(tb testing.TB) <-chan struct{} {
	done := make(chan struct{})
	if os.Getenv("MEDIAD_TEST_DEBUG") == "" {
		close(done)
		return done
	}
	tb.Cleanup(func() { <-done }) // no Logf after tb ends
	go func() {
		defer close(done)
		for range 12 {
			time.Sleep(200 * time.Millisecond)
			out, _ := exec.Command("tc", "-s", "qdisc", "show", "dev", "lo").CombinedOutput()
			tb.Logf("bottleneck at %s: %s", time.Now().UTC().Format("05.000"), strings.Join(strings.Fields(string(out)), " "))
		}
	}()
	return done
}

// freezeRun is what freezeInner saw.
type freezeRun struct {
	drop playback // the first 4 s after the drop to 600 kb/s
	low  playback // the rest of the time at 600 kb/s
	back playback // after the return to 5 Mb/s
	// stall is the longest time framesDecoded stood still, from the drop
	// on, as sampled (it includes the sampling's own delays).
	stall time.Duration
}

// longest is the longest freeze Chromium counted over the case (one
// still going at the end fails the run instead: freezeInner).
func (r freezeRun) longest() time.Duration {
	return max(r.drop.longest, r.low.longest, r.back.longest)
}

// freezeInner runs inside the namespace: the source at 1280x720 3 Mb/s,
// one Chromium viewer under automatic adaptation on the source rung, and
// the link stepped 5 Mb/s, 600 kb/s, 5 Mb/s. With MEDIAD_SHAPED_GSO_QUEUE
// set, the link's fifo holds GSO messages whole (shapedNamespace: the
// case as it was measured before); with MEDIAD_FREEZE_LOG set to a file,
// runFreezeOuter writes the inner run's whole output there.
func freezeInner(tb testing.TB) freezeRun {
	tb.Helper()
	srv := startServer(tb, false)
	tb.Cleanup(srv.Close)
	shapeMedia(tb, srv)
	pub := e2e.PublishTestPattern(tb, srv.rtmpURL("big", testToken), "1280x720", 30, 0,
		"-profile:v", "baseline", "-b:v", "3M", "-maxrate", "3M", "-bufsize", "3M",
		"-loglevel", "info", "-nostats") // to see why, if ffmpeg stops
	waitLive(tb, srv, "big", 30*time.Second)
	browser := e2e.NewBrowser(tb)
	tab := browser.Open(tb, srv.url("/watch/big"))
	// stall is the longest time framesDecoded stood still between samples
	// (a freeze still going on is not in Chrome's freezeCount).
	var lastF int
	var lastMove time.Time
	var stall time.Duration
	sample := func() videoStats {
		var s videoStats
		_ = tab.Eval(videoStatsJS, &s)
		now := time.Now()
		if s.F != lastF || lastMove.IsZero() {
			lastF, lastMove = s.F, now
		}
		stall = max(stall, now.Sub(lastMove))
		return s
	}
	rung := func() string {
		var name string
		_ = tab.Eval(`(window.mediad && window.mediad.rung) || ''`, &name)
		return name
	}
	deadline := time.Now().Add(60 * time.Second)
	for s := sample(); s.W != 1280 || s.F < 60 || rung() != "source"; s = sample() {
		if time.Now().After(deadline) {
			tb.Fatalf("never played the source rung 1280 wide at 5 Mb/s: %+v, rung %q", s, rung())
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Logf("playing the source rung 1280 wide at 5 Mb/s")
	// Settle on the source rung as at the drop.
	time.Sleep(3 * time.Second)
	var r freezeRun
	stall = 0
	setRate(tb, "600kbit")
	tb.Logf("link at 600 kb/s from %s", time.Now().UTC().Format("15:04:05.000"))
	sampled := sampleBottleneck(tb)
	r.drop = watchPlayback(tb, sample, 4*time.Second, func(s videoStats) bool { return s.W > 0 && s.W < 1280 })
	<-sampled
	tb.Logf("FIGURE drop: %s; %s", r.drop.reached(), r.drop.freezes())
	r.low = watchPlayback(tb, sample, 16*time.Second, func(videoStats) bool { return true })
	tb.Logf("FIGURE at 600 kb/s: %s", r.low.freezes())
	setRate(tb, "5mbit")
	tb.Logf("link at 5 Mb/s from %s", time.Now().UTC().Format("15:04:05.000"))
	r.back = watchPlayback(tb, sample, 15*time.Second, func(s videoStats) bool { return s.W == 1280 })
	tb.Logf("FIGURE back: %s; %s", r.back.reached(), r.back.freezes())
	tb.Logf("FIGURE longest stall of framesDecoded, sampled every 50 ms: %d ms", stall.Milliseconds())
	r.stall = stall
	select {
	case <-pub.Done():
		tb.Fatalf("the publisher stopped during the run: %s", pub.Output())
	default:
	}
	if time.Since(lastMove) > time.Second {
		tb.Fatalf("the picture stood still for the last %s", time.Since(lastMove).Round(time.Millisecond))
	}
	return r
}
