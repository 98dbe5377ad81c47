package server

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/signaling"
	"github.com/mutstream/mutstream/stream"
	"github.com/mutstream/mutstream/transcode"
)

const testToken = "e2e-secret"

// testConfig is the tests' mediad: free ports on loopback, the test
// tokens, no demo stream, its own state directory and no rate limit.
func testConfig(t testing.TB) config.Config {
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.RTMP.Addr = "127.0.0.1:0"
	cfg.WebRTC.UDPPort = 0
	cfg.WebRTC.UDPAddr = "127.0.0.1"
	cfg.Auth.PublishToken = testToken
	cfg.Auth.AdminToken = testAdmin
	cfg.StateDir = t.TempDir() // chains stored by one test never reach another
	// Under the race detector on a loaded machine the CPU ops run far
	// slower than in production: accept chains over budget, with a warning.
	cfg.Mutations.OverBudget = "warn"
	// Every client here is 127.0.0.1, and some poll: no rate limit.
	cfg.WebRTC.RateLimit = signaling.RateLimit{}
	cfg.Demo.Enabled = false
	return cfg
}

// startConfig starts a mediad with cfg; the caller closes it.
func startConfig(t testing.TB, cfg config.Config) *Server {
	t.Helper()
	level := slog.LevelInfo
	if os.Getenv("MEDIAD_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	srv, err := New(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	return srv
}

// startServer runs a whole mediad on free ports, with a small demo stream
// when demo is set; streams named black* get the analyze op.
func startServer(t testing.TB, demo bool) *Server {
	t.Helper()
	cfg := testConfig(t)
	cfg.Mutations.Defaults = []config.DefaultChain{{Streams: "black*", Chain: []map[string]any{{"op": "analyze"}}}}
	cfg.Demo.Enabled = demo
	cfg.Demo.Width, cfg.Demo.Height, cfg.Demo.FPS = 320, 180, 15
	return startConfig(t, cfg)
}

// startWith runs a whole mediad on free ports, without the demo stream,
// with the changes mod makes to testConfig, closed when the test ends.
func startWith(t testing.TB, mod func(*config.Config)) *Server {
	t.Helper()
	cfg := testConfig(t)
	if mod != nil {
		mod(&cfg)
	}
	srv := startConfig(t, cfg)
	t.Cleanup(srv.Close)
	return srv
}

func (s *Server) url(path string) string { return "http://" + s.HTTPAddr().String() + path }

func (s *Server) rtmpURL(name, token string) string {
	return fmt.Sprintf("rtmp://%s/live/%s?token=%s", s.RTMPAddr().String(), name, token)
}

func waitLive(t testing.TB, srv *Server, name string, timeout time.Duration) stream.Info {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(srv.url("/api/v1/streams/" + name))
		if err == nil {
			var in stream.Info
			_ = json.NewDecoder(resp.Body).Decode(&in)
			resp.Body.Close()
			if in.Live && len(in.Rungs) > 0 {
				return in
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("stream %q not live within %s", name, timeout)
	return stream.Info{}
}

// TestEndToEnd publishes with the ffmpeg CLI over RTMP and plays in headless
// Chromium over WHEP: every rung asked for, a switch by hand, the demo
// stream, a publisher reconnect with viewers attached, and a clean shutdown.
func TestEndToEnd(t *testing.T) {
	e2e.FFmpegPath(t)
	e2e.ChromiumPath(t)
	ignore := goleak.IgnoreCurrent()
	srv := startServer(t, true)
	closed := false
	defer func() {
		if !closed {
			srv.Close()
		}
	}()
	browser := e2e.NewBrowser(t)

	t.Run("demo plays", func(t *testing.T) {
		waitLive(t, srv, "demo", 30*time.Second)
		direct := testutil.ToFloat64(metrics.ViewerSendPaths.WithLabelValues("direct", ""))
		tab := browser.Open(t, srv.url("/watch/demo"))
		defer tab.Close()
		s, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool {
			return s.FramesDecoded > 15 && s.AudioPackets > 20
		})
		if err != nil {
			t.Fatal(err)
		}
		if s.Width != 320 || s.Height != 180 {
			t.Fatalf("demo plays at %dx%d, want 320x180", s.Width, s.Height)
		}
		// AES-GCM costs the sender less per packet than AES-CM with
		// HMAC-SHA1: it is what a browser that offers it gets.
		if !strings.Contains(s.SRTPCipher, "GCM") {
			t.Errorf("SRTP protection profile %q, want AES-GCM", s.SRTPCipher)
		}
		// What the browser decoded, mediad encrypted and wrote itself
		// (webrtc.direct_send), not through pion's SRTP session.
		if got := testutil.ToFloat64(metrics.ViewerSendPaths.WithLabelValues("direct", "")) - direct; got != 1 {
			t.Errorf("%v viewers sent to directly, want 1", got)
		}
		// The browser echoes the sender reports mediad sends it each
		// second (the adaptation clock's, for a direct viewer): the
		// round trip is measured.
		waitViewerRTT(t, srv, "demo", 20*time.Second)
	})

	pub := e2e.PublishTestPattern(t, srv.rtmpURL("cam", testToken), "640x360", 30, 0)
	info := waitLive(t, srv, "cam", 20*time.Second)
	// A constrained-baseline source is forwarded as the "source" rung; the
	// 720p rung is dropped: never upscale. The lowest rung has its
	// frame-rate-capped variant for links too thin for it.
	if got := len(info.Rungs); got != 4 || info.Rungs[0].Name != "source" || info.Rungs[1].Name != "360p" || info.Rungs[2].Name != "180p" ||
		info.Rungs[3].Name != "180p-lowfps" || info.Rungs[3].LowFPSOf != "180p" || info.Rungs[3].FPS != 7 {
		t.Fatalf("640x360 source should give rungs source, 360p, 180p and 180p-lowfps (7 fps) only, got %+v", info.Rungs)
	}
	if info.Source == nil || info.Source.Width != 640 || info.Source.Height != 360 {
		t.Fatalf("source info %+v", info.Source)
	}

	// Freezes are asserted where the machine kept up (e2e.CPUWatch), over
	// 30 frames once the rung plays.
	cpu := e2e.WatchCPU(t)
	for _, r := range []struct {
		rung string
		w, h int
		fps  float64
	}{{"source", 640, 360, 30}, {"360p", 640, 360, 30}, {"180p", 320, 180, float64(info.Rungs[2].FPS)}, {"180p-lowfps", 320, 180, float64(info.Rungs[3].FPS)}} {
		t.Run("rung "+r.rung, func(t *testing.T) {
			tab := browser.Open(t, srv.url("/watch/cam?rung="+r.rung))
			defer tab.Close()
			s, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool {
				return s.Width == r.w && s.Height == r.h && s.FramesDecoded > 5
			})
			if err != nil {
				t.Fatal(err)
			}
			win, err := cpu.Begin(tab)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tab.WaitStats(30*time.Second, func(n e2e.PlayerStats) bool {
				return n.Width == r.w && n.Height == r.h && n.FramesDecoded > s.FramesDecoded+30 && n.AudioPackets > 50
			}); err != nil {
				t.Fatal(err)
			}
			win.CheckFreezes(t, "rung "+r.rung, r.fps)
		})
	}

	tab := browser.Open(t, srv.url("/watch/cam"))
	if _, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return s.Width == 640 && s.FramesDecoded > 10 }); err != nil {
		t.Fatalf("default rung: %v", err)
	}
	t.Run("switch rung by hand", func(t *testing.T) {
		if err := tab.Eval("window.mediad.setRung('180p')", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return s.Width == 320 && s.Height == 180 }); err != nil {
			t.Fatalf("after switch to 180p: %v", err)
		}
		if err := tab.Eval("window.mediad.setRung('360p')", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return s.Width == 640 }); err != nil {
			t.Fatalf("after switch back to 360p: %v", err)
		}
	})

	t.Run("publisher reconnects, viewer stays", func(t *testing.T) {
		if err := tab.Eval("(window.__pc = window.mediad.pc, true)", nil); err != nil {
			t.Fatal(err)
		}
		before, _ := tab.Stats()
		pub.Stop()
		pub2 := e2e.PublishTestPattern(t, srv.rtmpURL("cam", testToken), "640x360", 30, 0)
		defer pub2.Stop()
		if _, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool {
			return s.FramesDecoded > before.FramesDecoded+60 && s.Width == 640
		}); err != nil {
			t.Fatalf("viewer did not resume: %v (ffmpeg: %s)", err, pub2.Output())
		}
		var same bool
		if err := tab.Eval("window.__pc === window.mediad.pc", &same); err != nil || !same {
			t.Fatalf("viewer reconnected instead of staying attached (same pc: %v, err %v)", same, err)
		}
		// A takeover by a second publisher with the right token keeps the
		// viewer too.
		mid, _ := tab.Stats()
		pub3 := e2e.PublishTestPattern(t, srv.rtmpURL("cam", testToken), "640x360", 30, 0)
		defer pub3.Stop()
		select {
		case <-pub2.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("the first publisher was not kicked by the takeover")
		}
		if _, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool {
			return s.FramesDecoded > mid.FramesDecoded+60
		}); err != nil {
			t.Fatalf("viewer did not play after takeover: %v", err)
		}
	})
	tab.Close()

	srv.Close()
	closed = true
	if n := transcode.LiveObjects(); n != 0 {
		t.Errorf("%d FFmpeg objects outlived their pipelines", n)
	}
	browser.Close()
	cpu.Stop()
	goleak.VerifyNone(t, ignore, goleak.IgnoreAnyFunction("github.com/chromedp/chromedp.(*Browser).run"))
}

// waitViewerRTT waits until a viewer of stream name has a round-trip
// time measured (GET /api/v1/streams/NAME/viewers), which takes the
// sender reports mediad sends, echoed in the viewer's receiver reports.
func waitViewerRTT(t *testing.T, srv *Server, name string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequest(http.MethodGet, srv.url("/api/v1/streams/"+name+"/viewers"), nil)
		req.Header.Set("Authorization", "Bearer "+testAdmin)
		var body struct {
			Viewers []struct {
				RTTMS float64 `json:"rtt_ms"`
			} `json:"viewers"`
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			for _, v := range body.Viewers {
				if err == nil && v.RTTMS > 0 {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no round trip measured for a viewer of %s in %v: %+v", name, timeout, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
