package server

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
)

// TestWHIPBrowserToBrowser: one Chromium page publishes its fake camera and
// microphone over WHIP, another plays every rung over WHEP; DELETE from the
// publisher ends the stream for the viewer.
func TestWHIPBrowserToBrowser(t *testing.T) {
	e2e.ChromiumPath(t)
	srv := startServer(t, false)
	defer srv.Close()
	browser := e2e.NewBrowser(t)
	pubTab := browser.Open(t, srv.url("/publish/cam?source=camera&autostart=1&width=640&height=360&token="+testToken))
	var state string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && state != "publishing" {
		_ = pubTab.Eval("window.mediadPublish && window.mediadPublish.state", &state)
		time.Sleep(200 * time.Millisecond)
	}
	if state != "publishing" {
		var e string
		_ = pubTab.Eval("window.mediadPublish && window.mediadPublish.error", &e)
		t.Fatalf("publisher state %q: %s", state, e)
	}
	info := waitLive(t, srv, "cam", 20*time.Second)
	// The browser starts small and climbs as its bandwidth estimate (fed by
	// mediad's transport-wide congestion control feedback) grows; the
	// ladder follows the source up.
	start := time.Now()
	for time.Since(start) < 40*time.Second && (info.Source == nil || info.Source.Width < 640) {
		time.Sleep(500 * time.Millisecond)
		info = waitLive(t, srv, "cam", 5*time.Second)
	}
	t.Logf("source reached %dx%d after %s", info.Source.Width, info.Source.Height, time.Since(start).Round(100*time.Millisecond))
	if info.Protocol != "whip" {
		t.Fatalf("protocol %q", info.Protocol)
	}
	t.Logf("source %+v, rungs %+v", info.Source, info.Rungs)
	for _, r := range info.Rungs {
		t.Run("rung "+r.Name, func(t *testing.T) {
			tab := browser.Open(t, srv.url("/watch/cam?rung="+r.Name))
			defer tab.Close()
			s, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool {
				return s.FramesDecoded > 30 && s.AudioPackets > 50 && s.Width > 0
			})
			if err != nil {
				t.Fatal(err)
			}
			if r.Width > 0 && (s.Width != r.Width || s.Height != r.Height) {
				t.Fatalf("rung %s plays at %dx%d, want %dx%d", r.Name, s.Width, s.Height, r.Width, r.Height)
			}
		})
	}
	viewer := browser.Open(t, srv.url("/watch/cam"))
	if _, err := viewer.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > 10 }); err != nil {
		t.Fatal(err)
	}
	if err := pubTab.Eval("window.mediadPublish.stop()", nil); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && state != "offline" && state != "ended" {
		_ = viewer.Eval("window.mediad.state", &state)
		time.Sleep(200 * time.Millisecond)
	}
	if state != "offline" && state != "ended" {
		t.Fatalf("viewer state %q after the publisher's DELETE", state)
	}
	if _, err := srv.Hub().Lookup("cam"); err == nil {
		t.Fatal("stream still live after DELETE")
	}
}

// TestWHIPFromOBSLikeClient: a Go WHIP client sends H.264 High with B-frames
// and Opus, as OBS does; a browser decodes the transcoded rungs.
func TestWHIPFromOBSLikeClient(t *testing.T) {
	e2e.ChromiumPath(t)
	ts := filepath.Join(t.TempDir(), "obs.ts")
	e2e.MakeTS(t, ts, "640x360", 30, 4, false)
	srv := startServer(t, false)
	defer srv.Close()
	c, err := e2e.DialWHIP(srv.url("/whip/obs"), testToken, e2e.WHIPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.StreamFile(ts, true)
	info := waitLive(t, srv, "obs", 20*time.Second)
	for _, r := range info.Rungs {
		if r.Name == "source" {
			t.Fatal("a B-frame source must not be forwarded as the source rung")
		}
	}
	browser := e2e.NewBrowser(t)
	tab := browser.Open(t, srv.url("/watch/obs"))
	s, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool {
		return s.FramesDecoded > 60 && s.AudioPackets > 50
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Width != 640 || s.Height != 360 {
		t.Fatalf("plays at %dx%d, want 640x360", s.Width, s.Height)
	}
	if s.FreezeCount > 0 {
		t.Errorf("%d freezes", s.FreezeCount)
	}
}
