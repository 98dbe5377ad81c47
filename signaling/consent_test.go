package signaling

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// ghostConfig ends silent sessions by consent only: pion's own ICE
// timeouts are far beyond the test.
func ghostConfig(c *Config) {
	c.DisconnectedTimeout, c.FailedTimeout = time.Minute, time.Minute
	c.PublisherDisconnectedTimeout, c.PublisherFailedTimeout = time.Minute, time.Minute
	c.ConsentTimeout = time.Second
}

// settledGoroutines waits until the goroutine count is at most want (with
// a little slack for the runtime's own) and returns it.
func settledGoroutines(t *testing.T, want int) int {
	t.Helper()
	n := 0
	waitFor(t, 20*time.Second, "goroutines back to where they were", func() bool {
		n = runtime.NumGoroutine()
		return n <= want+2
	})
	return n
}

// TestWHEPGhostViewerEnded: a viewer that vanishes without DELETE or DTLS
// close (a killed browser) is ended once its consent expires, counted,
// and leaves no goroutine behind.
func TestWHEPGhostViewerEnded(t *testing.T) {
	cfg := DefaultConfig()
	ghostConfig(&cfg)
	env := newTestEnv(t, cfg)
	if _, err := env.hub.Publish("ghost", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	expired := metrics.SessionsExpired.WithLabelValues("whep", expiredConsent)
	before := testutil.ToFloat64(expired)
	// A first viewer warms up what stays (pion's and the hub's pools).
	warm, err := e2e.DialWHEP(env.http.URL + "/whep/ghost")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "video", func() bool { return warm.VideoPackets.Load() > 10 })
	if code, err := warm.Delete(); err != nil || code != 200 {
		t.Fatalf("DELETE %d %v", code, err)
	}
	waitFor(t, 10*time.Second, "warm-up viewer gone", func() bool { return env.srv.Sessions() == 0 })
	base := runtime.NumGoroutine()

	c, err := e2e.DialWHEP(env.http.URL + "/whep/ghost")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "video", func() bool { return c.VideoPackets.Load() > 10 })
	c.Vanish()
	vanished := time.Now()
	waitFor(t, 15*time.Second, "the ghost viewer ended", func() bool { return env.srv.Sessions("whep") == 0 })
	t.Logf("ended %v after it vanished (consent_timeout %v)", time.Since(vanished).Round(time.Millisecond), cfg.ConsentTimeout)
	if got := testutil.ToFloat64(expired) - before; got != 1 {
		t.Errorf("mediad_webrtc_sessions_expired_total{whep,consent} rose by %v, want 1", got)
	}
	if len(env.srv.Viewers("ghost")) != 0 {
		t.Error("the ghost is still listed")
	}
	c.Close()
	n := settledGoroutines(t, base)
	t.Logf("goroutines %d, %d before the ghost", n, base)
}

// TestWHIPGhostPublisherEnded: a publisher that vanishes without DELETE
// (FFmpeg killed) is ended once its consent expires, and counted.
func TestWHIPGhostPublisherEnded(t *testing.T) {
	e2e.FFmpegPath(t)
	hs, srv, _, packets := newWHIPEnv(t, ghostConfig)
	ts := filepath.Join(t.TempDir(), "in.ts")
	e2e.MakeTS(t, ts, "320x180", 30, 2, true)
	expired := metrics.SessionsExpired.WithLabelValues("whip", expiredConsent)
	before := testutil.ToFloat64(expired)
	c, err := e2e.DialWHIP(hs.URL+"/whip/ghostpub", pubToken, e2e.WHIPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.StreamFile(ts, true)
	waitFor(t, 20*time.Second, "media", func() bool { return packets.Load() > 30 })
	c.Vanish()
	waitFor(t, 15*time.Second, "the ghost publisher ended", func() bool { return srv.Sessions("whip") == 0 })
	if got := testutil.ToFloat64(expired) - before; got != 1 {
		t.Errorf("mediad_webrtc_sessions_expired_total{whip,consent} rose by %v, want 1", got)
	}
}

// TestConsentLocalSignsOfLife: while a viewer's signs of life that pion
// does not see (its RTCP, taken off the port) keep coming, its session
// lives, though pion's pair hears nothing; once they stop, consent
// expires.
func TestConsentLocalSignsOfLife(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ConsentTimeout = 300 * time.Millisecond
	env := newTestEnv(t, cfg)
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{}) // never connected: pion hears nothing
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var alive atomic.Bool
	alive.Store(true)
	var calls, signs atomic.Uint64
	local := func() uint64 {
		calls.Add(1)
		if alive.Load() {
			signs.Add(1)
		}
		return signs.Load()
	}
	ended := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go env.srv.watchConsent(ctx, "whep", pc, local, func() { close(ended) })
	// Many consent timeouts' worth of polls.
	waitFor(t, 20*time.Second, "60 polls", func() bool { return calls.Load() >= 60 })
	select {
	case <-ended:
		t.Fatal("ended while its RTCP kept coming")
	default:
	}
	alive.Store(false)
	select {
	case <-ended:
	case <-time.After(20 * time.Second):
		t.Fatal("not ended once its RTCP stopped")
	}
}

// TestConsentClockShared: the sessions' consents are polled by one
// clock; a silent one ends while the others go on, and the clock's
// goroutine ends with the last watch.
func TestConsentClockShared(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ConsentTimeout = 300 * time.Millisecond
	env := newTestEnv(t, cfg)
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{}) // pion hears nothing
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var n atomic.Uint64
	alive := func() uint64 { return n.Add(1) }
	silent := func() uint64 { return 0 }
	ctx, cancel := context.WithCancel(context.Background())
	var ended [3]atomic.Bool
	var wg sync.WaitGroup
	for i, local := range []func() uint64{alive, alive, silent} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env.srv.watchConsent(ctx, "whep", pc, local, func() { ended[i].Store(true) })
		}()
	}
	waitFor(t, 20*time.Second, "the silent session ended", func() bool { return ended[2].Load() })
	waitFor(t, 20*time.Second, "60 more polls", func() bool { return n.Load() >= 120 })
	if ended[0].Load() || ended[1].Load() {
		t.Fatal("a session that kept sending was ended")
	}
	cancel()
	wg.Wait()
	done := make(chan struct{})
	go func() {
		env.srv.consent.wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the consent clock runs on with nothing to watch")
	}
}
