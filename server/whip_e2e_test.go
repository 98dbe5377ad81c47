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
	waitPublishing(t, pubTab, 30*time.Second)
	// The page's default codec choice (auto) prefers H.264.
	if got := waitPublisherCodec(t, pubTab, 10*time.Second); got != "H264" {
		t.Fatalf("publish page negotiated %q by default, want H264", got)
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
	var state string
	deadline := time.Now().Add(15 * time.Second)
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
	t.Logf("freezes: %d", s.FreezeCount)
}

// TestWHIPPublisherVanishes: a publisher whose network dies is noticed
// through ICE within 10 s; one that reconnects with the token within the
// grace period finds its viewers still attached; one that does not ends the
// stream, and its viewers are let go.
func TestWHIPPublisherVanishes(t *testing.T) {
	e2e.FFmpegPath(t)
	ts := filepath.Join(t.TempDir(), "cam.ts")
	e2e.MakeTS(t, ts, "320x180", 30, 4, true)
	srv := startServer(t, false)
	defer srv.Close()
	publish := func() *e2e.WHIPClient {
		c, err := e2e.DialWHIP(srv.url("/whip/cam"), testToken, e2e.WHIPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		c.StreamFile(ts, true)
		return c
	}
	c1 := publish()
	waitLive(t, srv, "cam", 20*time.Second)
	viewer, err := e2e.DialWHEP(srv.url("/whep/cam?rung=180p"))
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close()
	waitUntil(t, 20*time.Second, "viewer receives video", func() bool { return viewer.VideoPackets.Load() > 50 })

	c1.Vanish()
	start := time.Now()
	waitUntil(t, 10*time.Second, "the vanished publisher noticed", func() bool { return srv.whep.Sessions("whip") == 0 })
	t.Logf("vanished publisher noticed after %s", time.Since(start).Round(100*time.Millisecond))

	publish()
	waitLive(t, srv, "cam", 10*time.Second)
	n := viewer.VideoPackets.Load()
	waitUntil(t, 20*time.Second, "the viewer plays the reconnected publisher", func() bool { return viewer.VideoPackets.Load() > n+100 })
	if srv.whep.Sessions("whep") != 1 {
		t.Fatal("the viewer was not kept across the reconnect")
	}

	srv.whep.CloseSessions("whip") // the publisher leaves for good
	waitUntil(t, 15*time.Second, "the viewer released after the grace period", func() bool {
		return srv.whep.Sessions("whep") == 0
	})
	ended := false
	for _, m := range viewer.Messages() {
		ended = ended || m["type"] == "ended"
	}
	if !ended {
		t.Fatalf("viewer was not told the stream ended: %v", viewer.Messages())
	}
}

// waitPublishing waits for the publish page in tab to say it is publishing.
func waitPublishing(t *testing.T, tab *e2e.Tab, timeout time.Duration) {
	t.Helper()
	var state string
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && state != "publishing" {
		_ = tab.Eval("window.mediadPublish && window.mediadPublish.state", &state)
		time.Sleep(200 * time.Millisecond)
	}
	if state != "publishing" {
		var e string
		_ = tab.Eval("window.mediadPublish && window.mediadPublish.error", &e)
		t.Fatalf("publisher state %q: %s", state, e)
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}
