package server

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
)

// metricValues returns the values of the series of metric whose labels
// include every one of labels (`name="value"`), by their label text.
func metricValues(text, metric string, labels ...string) map[string]float64 {
	out := map[string]float64{}
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, metric+"{") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		lab := l[len(metric):i]
		match := true
		for _, want := range labels {
			if !strings.Contains(lab, want) {
				match = false
			}
		}
		if v, err := strconv.ParseFloat(l[i+1:], 64); err == nil && match {
			out[lab] = v
		}
	}
	return out
}

// TestH264AndVP8Viewers: one stream, a Chromium viewer in H.264 and one
// that offers VP8 only (the player's ?codec=vp8, setCodecPreferences).
// Both play, each in its codec, counted per codec; when the VP8 viewer
// leaves, every VP8 rung is paused within a few seconds (no VP8 encoder
// runs for nobody) while the H.264 viewer plays on.
func TestH264AndVP8Viewers(t *testing.T) {
	e2e.FFmpegPath(t)
	e2e.ChromiumPath(t)
	srv := startServer(t, false)
	defer srv.Close()
	e2e.PublishTestPattern(t, srv.rtmpURL("mix", testToken), "640x360", 30, 0)
	waitLive(t, srv, "mix", 30*time.Second)
	browser := e2e.NewBrowser(t)
	h264 := browser.Open(t, srv.url("/watch/mix"))
	defer h264.Close()
	vp8 := browser.Open(t, srv.url("/watch/mix?codec=vp8"))
	playing := func(s e2e.PlayerStats) bool { return s.FramesDecoded > 30 && s.Width > 0 }
	sh, err := h264.WaitStats(40*time.Second, playing)
	if err != nil {
		t.Fatalf("H.264 viewer: %v", err)
	}
	sv, err := vp8.WaitStats(40*time.Second, playing)
	if err != nil {
		t.Fatalf("VP8 viewer: %v", err)
	}
	if sh.Codec != "h264" || sv.Codec != "vp8" {
		t.Fatalf("codecs received: %q and %q, want h264 and vp8", sh.Codec, sv.Codec)
	}
	t.Logf("H.264 viewer %dx%d, VP8 viewer %dx%d", sh.Width, sh.Height, sv.Width, sv.Height)
	text := metricsText(t, srv)
	for codec, want := range map[string]float64{"h264": 1, "vp8": 1} {
		if got := metricValues(text, "mediad_viewers_by_codec", `stream="mix"`, `codec="`+codec+`"`); len(got) != 1 || sum(got) != want {
			t.Fatalf("mediad_viewers_by_codec for %s: %v, want %v", codec, got, want)
		}
	}
	// The dashboard counts the viewers per codec.
	dash := browser.Open(t, srv.url("/dashboard?stream=mix"))
	var counted string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && counted != "By codec: h264 1, vp8 1"; time.Sleep(250 * time.Millisecond) {
		_ = dash.Eval(`document.getElementById('codecs').textContent`, &counted)
	}
	dash.Close()
	if counted != "By codec: h264 1, vp8 1" {
		t.Fatalf("the dashboard says %q, want one viewer per codec", counted)
	}
	paused := metricValues(text, "mediad_rung_paused", `stream="mix"`, `codec="vp8"`)
	if len(paused) == 0 || sum(paused) == float64(len(paused)) {
		t.Fatalf("mediad_rung_paused for VP8 while a VP8 viewer watches: %v, want one running", paused)
	}

	vp8.Close()
	left := time.Now()
	var stopped time.Duration
	for time.Since(left) < 20*time.Second {
		p := metricValues(metricsText(t, srv), "mediad_rung_paused", `stream="mix"`, `codec="vp8"`)
		if len(p) > 0 && sum(p) == float64(len(p)) {
			stopped = time.Since(left)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if stopped == 0 {
		t.Fatalf("VP8 rungs still encoded 20 s after the last VP8 viewer left: %v", metricValues(metricsText(t, srv), "mediad_rung_paused", `stream="mix"`, `codec="vp8"`))
	}
	t.Logf("FIGURE every VP8 rung paused %.1f s after the last VP8 viewer left", stopped.Seconds())
	if stopped > 10*time.Second {
		t.Errorf("the VP8 rungs paused %.1f s after the last VP8 viewer left, want within a few seconds", stopped.Seconds())
	}
	// The rungs pause as the viewer's loop leaves them; the session is
	// counted out as it ends, a moment later.
	var got map[string]float64
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if got = metricValues(metricsText(t, srv), "mediad_viewers_by_codec", `stream="mix"`, `codec="vp8"`); sum(got) == 0 {
			break
		}
	}
	if sum(got) != 0 {
		t.Fatalf("mediad_viewers_by_codec for vp8 10 s after the VP8 viewer left: %v", got)
	}
	before := sh.FramesDecoded
	if _, err := h264.WaitStats(20*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > before+60 && s.Codec == "h264" }); err != nil {
		t.Fatalf("the H.264 viewer after the VP8 viewer left: %v", err)
	}
}

func sum(m map[string]float64) float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	return s
}
