// Package e2e holds helpers for tests that drive mediad with real clients:
// headless Chromium through chromedp and the ffmpeg CLI as a publisher.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath finds Debian's chromium, or skips the test.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("MEDIAD_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("chromium not installed: run `make test-deps` (Debian package chromium)")
	return ""
}

// Browser is one headless Chromium; each Tab is a page in it.
type Browser struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// NewBrowser starts headless Chromium with the flags WebRTC tests need, and
// extra ones. It is closed when the test ends.
func NewBrowser(t testing.TB, extra ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{},
		chromedp.ExecPath(ChromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// Gather 127.0.0.1 too: in a network namespace with only a loopback
		// interface it is the only address there is.
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Tabs that are not in front keep their timers, animation frames and
		// media running: a test has a publisher and viewers side by side.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	opts = append(opts, extra...)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	if _, err := chromedp.Run(bctx, chromedp.Navigate("about:blank")); err != nil {
		bcancel()
		acancel()
		t.Fatalf("start chromium: %v", err)
	}
	b := &Browser{ctx: bctx, cancel: func() { bcancel(); acancel() }}
	t.Cleanup(b.cancel)
	return b
}

// Tab is one page.
type Tab struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// Open opens url in a new tab.
func (b *Browser) Open(t testing.TB, url string) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		cancel()
		t.Fatalf("open %s: %v", url, err)
	}
	tab := &Tab{ctx: ctx, cancel: cancel}
	t.Cleanup(cancel)
	return tab
}

// Close closes the tab.
func (tb *Tab) Close() { tb.cancel() }

// Eval evaluates js in the page (awaiting a promise) and decodes its JSON
// value into out.
func (tb *Tab) Eval(js string, out any) error {
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("(async () => JSON.stringify((await ("+js+")) ?? null))()", chromedp.EvalAwaitPromise))
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal([]byte(s), out)
}

// PlayerStats is what the watch page exposes as window.mediad.stats.
type PlayerStats struct {
	Width         int     `json:"width"`
	Height        int     `json:"height"`
	FPS           float64 `json:"fps"`
	FramesDecoded int     `json:"framesDecoded"`
	VideoBytes    int64   `json:"videoBytes"`
	AudioBytes    int64   `json:"audioBytes"`
	AudioPackets  int64   `json:"audioPackets"`
	RTT           float64 `json:"rtt"`
	Lost          int64   `json:"lost"`
	FreezeCount   int     `json:"freezeCount"`
	Codec         string  `json:"codec"` // video, lower case: "h264"
	// SRTPCipher is the SRTP protection profile the transport uses, as
	// Chromium names it ("AEAD_AES_128_GCM").
	SRTPCipher string `json:"srtpCipher"`
}

// Stats reads the player's latest stats.
func (tb *Tab) Stats() (PlayerStats, error) {
	var s PlayerStats
	err := tb.Eval("(window.mediad && window.mediad.stats) || {}", &s)
	return s, err
}

// WaitStats polls the player's stats until ok accepts them or timeout passes.
func (tb *Tab) WaitStats(timeout time.Duration, ok func(PlayerStats) bool) (PlayerStats, error) {
	deadline := time.Now().Add(timeout)
	var last PlayerStats
	for time.Now().Before(deadline) {
		s, err := tb.Stats()
		if err == nil {
			last = s
			if ok(s) {
				return s, nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return last, fmt.Errorf("condition not met in %s; last stats %+v", timeout, last)
}

// Close ends the browser process.
func (b *Browser) Close() { b.cancel() }

// Latency is what the watch page's LatencyMeter (?measure=1) reports of
// the time codes read back from the frames it showed, in ms.
type Latency struct {
	Count  int     `json:"count"`
	Failed int     `json:"failed"`
	P50    float64 `json:"p50"`
	P95    float64 `json:"p95"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// ResetLatency starts the page's latency measurement afresh.
func (tb *Tab) ResetLatency() { _ = tb.Eval("window.mediad.latency.reset()", nil) }

// Latency returns the page's latency measurement since ResetLatency.
func (tb *Tab) Latency() (Latency, error) {
	var l Latency
	err := tb.Eval("window.mediad.latency.summary()", &l)
	return l, err
}
