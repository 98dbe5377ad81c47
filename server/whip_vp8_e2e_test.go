package server

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
	"github.com/mutstream/mutstream/transcode"
)

// TestWHIPBrowserVP8: Chromium publishes its fake camera in VP8 (chosen on
// the publish page with ?codec=vp8) and its microphone in Opus over WHIP.
// The server takes VP8 in, offers no source rung (browsers watching over
// WHEP get H.264 only), and a viewer decodes H.264 frames and receives
// audio on every transcoded rung.
func TestWHIPBrowserVP8(t *testing.T) {
	e2e.ChromiumPath(t)
	corrupt := metrics.WHIPFramesDropped.WithLabelValues("corrupt")
	corruptBefore := testutil.ToFloat64(corrupt)
	srv := startServer(t, false)
	defer srv.Close()
	browser := e2e.NewBrowser(t)
	const name = "vp8cam"
	pubTab := browser.Open(t, srv.url("/publish/"+name+"?source=camera&autostart=1&width=640&height=360&codec=vp8&token="+testToken))
	waitPublishing(t, pubTab, 30*time.Second)
	if got := waitPublisherCodec(t, pubTab, 10*time.Second); got != "VP8" {
		t.Fatalf("publish page negotiated %q, want VP8", got)
	}

	info := waitLive(t, srv, name, 20*time.Second)
	// Rungs appear as the browser's resolution climbs; the sizes the
	// viewers check are those of a settled ladder.
	start := time.Now()
	for time.Since(start) < 20*time.Second && (info.Source == nil || info.Source.Width < 640) {
		time.Sleep(500 * time.Millisecond)
		info = waitLive(t, srv, name, 5*time.Second)
	}
	t.Logf("source %+v after %s, audio %+v, rungs %+v", info.Source, time.Since(start).Round(100*time.Millisecond), info.Audio, info.Rungs)
	if info.Protocol != "whip" {
		t.Fatalf("protocol %q", info.Protocol)
	}
	if info.Source == nil || info.Source.Codec != stream.CodecVP8 {
		t.Fatalf("source %+v: the server did not receive VP8", info.Source)
	}
	if info.Audio == nil || info.Audio.Codec != stream.CodecOpus {
		t.Fatalf("source audio %+v, want Opus", info.Audio)
	}
	for _, r := range info.Rungs {
		if r.Name == transcode.SourceRungName {
			t.Fatalf("a VP8 source must not be forwarded as the source rung to H.264 viewers: rungs %+v", info.Rungs)
		}
		if r.Codec != stream.CodecH264 {
			t.Fatalf("rung %s is %s, want h264", r.Name, r.Codec)
		}
	}

	for _, r := range info.Rungs {
		t.Run("rung "+r.Name, func(t *testing.T) {
			tab := browser.Open(t, srv.url("/watch/"+name+"?rung="+r.Name))
			defer tab.Close()
			s, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool {
				return s.FramesDecoded > 30 && s.AudioPackets > 50 && s.AudioBytes > 0 && s.Width > 0
			})
			if err != nil {
				t.Fatal(err)
			}
			if s.Codec != "h264" {
				t.Fatalf("viewer receives %q, want h264", s.Codec)
			}
			if r.Width > 0 && (s.Width != r.Width || s.Height != r.Height) {
				t.Fatalf("rung %s plays at %dx%d, want %dx%d", r.Name, s.Width, s.Height, r.Width, r.Height)
			}
			t.Logf("rung %s: %dx%d, %d frames decoded, %d audio packets, %d freezes", r.Name, s.Width, s.Height, s.FramesDecoded, s.AudioPackets, s.FreezeCount)
		})
	}

	// Still VP8 at the end: the browser did not switch codecs on the way.
	if got := waitPublisherCodec(t, pubTab, 5*time.Second); got != "VP8" {
		t.Fatalf("publish page sends %q at the end, want VP8", got)
	}
	var shown string
	if err := pubTab.Eval("document.getElementById('st-codec').textContent", &shown); err != nil || !strings.HasPrefix(shown, "VP8") {
		t.Fatalf("publish page shows codec %q (err %v), want VP8", shown, err)
	}
	if n := testutil.ToFloat64(corrupt) - corruptBefore; n != 0 {
		t.Fatalf("%v VP8 frames dropped as corrupt", n)
	}
}

// waitPublisherCodec returns the video codec the publish page in tab says
// it negotiated ("VP8", "H264"), once it says one.
func waitPublisherCodec(t *testing.T, tab *e2e.Tab, timeout time.Duration) string {
	t.Helper()
	var codec string
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := tab.Eval("window.mediadPublish && window.mediadPublish.codec", &codec); err == nil && codec != "" {
			return codec
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("publish page names no negotiated video codec within %s", timeout)
	return ""
}
