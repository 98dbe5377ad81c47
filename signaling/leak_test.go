package signaling

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// leakSessions is how many WHEP sessions TestWHEPSessionsLeakNothing opens
// and closes: MEDIAD_LEAK_SESSIONS, else 1000, or 100 under -short.
func leakSessions(t *testing.T) int {
	if s := os.Getenv("MEDIAD_LEAK_SESSIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("MEDIAD_LEAK_SESSIONS=%q: want a positive count", s)
		}
		return n
	}
	if testing.Short() {
		return 100
	}
	return 1000
}

// procUsage is what the process holds: goroutines, open file descriptors,
// resident memory and the Go heap in use.
type procUsage struct {
	goroutines, fds int
	rss, heap       int64 // bytes
}

func (u procUsage) String() string {
	return fmt.Sprintf("%d goroutines, %d FDs, RSS %.1f MiB, heap %.1f MiB", u.goroutines, u.fds, mib(u.rss), mib(u.heap))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func usage(t *testing.T) procUsage {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	var rss int64
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			rss = kb << 10
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return procUsage{goroutines: runtime.NumGoroutine(), fds: len(fds), rss: rss, heap: int64(ms.HeapInuse)}
}

// settled waits, up to d, until the goroutine count stops falling (the
// same over five samples 100 ms apart) and at most want (when want > 0),
// and returns the usage then, with the heap given back to the OS.
func settled(t *testing.T, d time.Duration, want int) procUsage {
	t.Helper()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(d)
	last, same := -1, 0
	for time.Now().Before(deadline) {
		n := runtime.NumGoroutine()
		if n == last {
			same++
		} else {
			last, same = n, 0
		}
		if same >= 5 && (want <= 0 || n <= want) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	runtime.GC()
	debug.FreeOSMemory()
	return usage(t)
}

// seriesOf counts the series of c labelled with streamName.
func seriesOf(c prometheus.Collector, streamName string) int {
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	n := 0
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) != nil {
			continue
		}
		for _, l := range pb.GetLabel() {
			if l.GetName() == "stream" && l.GetValue() == streamName {
				n++
			}
		}
	}
	return n
}

// TestWHEPSessionsLeakNothing opens and closes WHEP sessions from pion
// clients while a stream plays (each session receives video before it
// ends, half by DELETE, half by the client's DTLS close): afterwards the
// goroutines, file descriptors and resident memory are back to what they
// were after a warm-up, and no per-viewer metric series is left.
func TestWHEPSessionsLeakNothing(t *testing.T) {
	total := leakSessions(t)
	const workers = 4
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := stream.NewHub(startFake, quiet)
	cfg := DefaultConfig()
	cfg.UDPPort, cfg.UDPAddr = 0, "127.0.0.1"
	cfg.RateLimit = RateLimit{} // every request comes from one address
	srv, err := NewServer(cfg, hub, quiet)
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	srv.Mount(r)
	hs := httptest.NewServer(r)
	defer func() {
		hs.Close()
		_ = srv.Close()
		hub.Close()
	}()
	if _, err := hub.Publish("leak", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	var failed atomic.Int64
	session := func(i int) error {
		url := hs.URL + "/whep/leak"
		if i%3 == 1 {
			url += "?rung=lo"
		}
		c, err := e2e.DialWHEP(url)
		if err != nil {
			return fmt.Errorf("session %d: %w", i, err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for c.VideoPackets.Load() == 0 {
			if time.Now().After(deadline) {
				c.Close()
				return fmt.Errorf("session %d: no video within 15 s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if i%2 == 0 {
			if code, err := c.Delete(); err != nil || code != http.StatusOK {
				return fmt.Errorf("session %d: DELETE %d %v", i, code, err)
			}
			return nil
		}
		c.Close() // the server sees the DTLS close and ends the session
		return nil
	}
	run := func(n int) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= n || failed.Load() > 10 {
						return
					}
					if err := session(i); err != nil {
						failed.Add(1)
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		waitFor(t, 30*time.Second, "every session ended", func() bool { return srv.Sessions() == 0 })
	}

	// Warm up: pion's and the HTTP client's lazily made parts, and the
	// heap, reach their working size.
	run(2 * workers)
	base := settled(t, 20*time.Second, 0)
	start := time.Now()
	run(total)
	elapsed := time.Since(start)
	if t.Failed() {
		t.FailNow()
	}
	const slackGoroutines, slackFDs = 10, 10
	after := settled(t, 30*time.Second, base.goroutines+slackGoroutines)
	t.Logf("%d sessions in %s (%.1f ms each, %d at a time, race detector %v): baseline %s; after %s",
		total, elapsed.Round(time.Millisecond), float64(elapsed.Milliseconds())/float64(total), workers, raceOn, base, after)
	if after.goroutines > base.goroutines+slackGoroutines {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines %d after %d sessions, baseline %d:\n%s", after.goroutines, total, base.goroutines, buf[:runtime.Stack(buf, true)])
	}
	if after.fds > base.fds+slackFDs {
		t.Errorf("open FDs %d after %d sessions, baseline %d", after.fds, total, base.fds)
	}
	// Memory: 16 MiB and a tenth more than the baseline (a leaked session
	// holds well over 100 KiB). The race detector's shadow memory grows
	// with every goroutine ever started and is not given back: under it,
	// the Go heap is checked instead of the resident set.
	slack := func(b int64) int64 { return 16<<20 + b/10 }
	if raceOn {
		if after.heap > base.heap+slack(base.heap) {
			t.Errorf("Go heap %.1f MiB after %d sessions, baseline %.1f MiB", mib(after.heap), total, mib(base.heap))
		}
	} else if after.rss > base.rss+slack(base.rss) {
		t.Errorf("RSS %.1f MiB after %d sessions, baseline %.1f MiB", mib(after.rss), total, mib(base.rss))
	}
	for _, c := range []struct {
		name string
		c    prometheus.Collector
	}{{"mediad_viewer_rung", metrics.ViewerRung}, {"mediad_viewer_estimate_bps", metrics.ViewerEstimate}} {
		if n := seriesOf(c.c, "leak"); n != 0 {
			t.Errorf("%s: %d series left for stream leak after every viewer left", c.name, n)
		}
	}
}
