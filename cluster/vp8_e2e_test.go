package cluster_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
)

// seriesValue returns the value of the series of the metric name on node
// n whose labels include every one of labels (`name="value"`), and
// whether there is one.
func seriesValue(n *mediadNode, name string, labels ...string) (float64, bool) {
	for _, l := range strings.Split(metric(n, name+"{"), "\n") {
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		match := true
		for _, want := range labels {
			match = match && strings.Contains(l[:i], want)
		}
		if v, err := strconv.ParseFloat(l[i+1:], 64); err == nil && match {
			return v, true
		}
	}
	return 0, false
}

// TestClusterEdgeVP8: a Chromium viewer that offers VP8 only (the
// player's ?codec=vp8: setCodecPreferences) watches a stream on an edge as
// on its origin: the edge installs the origin's VP8 feeds, pulls the VP8
// rung with an offer of VP8 only (which wakes the origin's VP8 twin) and
// takes the audio from it, and
// an H.264 viewer beside it makes a second pull of the same rung in H.264.
// Each pull stops after pull_linger once its last viewer leaves, and the
// origin's VP8 rung pauses when the VP8 pull is gone.
func TestClusterEdgeVP8(t *testing.T) {
	if testing.Short() {
		t.Skip("two mediad processes, ffmpeg and Chromium: not in -short")
	}
	e2e.FFmpegPath(t)
	e2e.ChromiumPath(t)
	redis := e2e.StartRedis(t)
	bin := buildMediad(t)
	a := newNode(t, bin, "a", redis.URL(), "origin")
	c := newNode(t, bin, "c", redis.URL(), "edge")
	dumpOnFailure(t, a, c)
	waitUntil(t, "two nodes listed", 10*time.Second, func() bool {
		code, body := get(c.url() + "/api/v1/cluster/nodes")
		return code == http.StatusOK && strings.Count(body, `"id"`) == 2
	})

	e2e.PublishTestPattern(t, a.rtmpURL("cam"), "426x240", 24, 0)
	var info string
	waitUntil(t, "the stream live on A in H.264 and VP8", 30*time.Second, func() bool {
		code, body := get(a.url() + "/api/v1/streams/cam")
		info = body
		return code == http.StatusOK && strings.Contains(body, `"live":true`) && strings.Contains(body, `"codecs":["h264","vp8"]`)
	})
	if i := strings.Index(info, `"feeds":`); i >= 0 {
		t.Logf("A's %s", info[i:min(len(info), i+400)])
	}
	vp8Paused := func() (float64, bool) {
		return seriesValue(a, "mediad_rung_paused", `stream="cam"`, `rung="240p"`, `codec="vp8"`)
	}
	pulls := func(codec string) float64 {
		v, _ := seriesValue(c, "mediad_edge_pulls", `stream="cam"`, `codec="`+codec+`"`)
		return v
	}
	if v, ok := vp8Paused(); ok && v != 1 {
		t.Fatalf("A's VP8 rung runs before any VP8 viewer: mediad_rung_paused %v", v)
	}

	br := e2e.NewBrowser(t)
	tab := br.Open(t, c.url()+"/watch/cam?codec=vp8")
	st, err := tab.WaitStats(60*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > 24 && s.Width > 0 && s.AudioPackets > 0 })
	if err != nil {
		t.Fatalf("the VP8-only viewer on C: %v", err)
	}
	if st.Codec != "vp8" || st.Width != 426 {
		t.Fatalf("the viewer on C receives %q at %dx%d, want vp8 at 426x240", st.Codec, st.Width, st.Height)
	}
	if p := readPlayer(tab); p.Base != "" {
		t.Fatalf("the player left C for %s", p.Base)
	}
	if pulls("vp8") != 1 || pulls("h264") != 0 {
		t.Fatalf("C's pulls with one VP8 viewer: %q, want one VP8 pull and no H.264 one", metric(c, "mediad_edge_pulls{"))
	}
	if v, ok := vp8Paused(); !ok || v != 0 {
		t.Fatalf("A's VP8 rung while C pulls it: mediad_rung_paused %v (%v), want 0", v, ok)
	}
	t.Logf("VP8 viewer on C: %dx%d %s, %d frames decoded, %d audio packets", st.Width, st.Height, st.Codec, st.FramesDecoded, st.AudioPackets)

	// An H.264 viewer of the same rung on C: a second pull, in H.264.
	// Pinned to the rung: an automatic viewer may also visit the H.264
	// "source" rung of this publisher, another pull.
	wc, err := e2e.DialWHEP(c.url() + "/whep/cam?rung=240p")
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "video for an H.264 Go viewer of C", 20*time.Second, func() bool { return wc.VideoPackets.Load() > 20 })
	if pulls("vp8") != 1 || pulls("h264") != 1 {
		t.Fatalf("C's pulls with a VP8 and an H.264 viewer: %q", metric(c, "mediad_edge_pulls{"))
	}
	wc.Close()
	waitUntil(t, "C to stop the H.264 pull nobody watches", 20*time.Second, func() bool { return pulls("h264") == 0 })
	before, _ := tab.Stats()
	if _, err := tab.WaitStats(20*time.Second, func(s e2e.PlayerStats) bool {
		return s.FramesDecoded > before.FramesDecoded+48 && s.Codec == "vp8"
	}); err != nil {
		t.Fatalf("the VP8 viewer after the H.264 pull stopped: %v", err)
	}
	if pulls("vp8") != 1 {
		t.Fatalf("C's VP8 pull after the H.264 viewer left: %q", metric(c, "mediad_edge_pulls{"))
	}

	t.Logf("C's dropped frames: %q", metric(c, "mediad_edge_frames_dropped_total{"))

	// The VP8 viewer leaves: the VP8 pull stops after pull_linger, and
	// the origin pauses its VP8 rung.
	tab.Close()
	left := time.Now()
	waitUntil(t, "C to stop the VP8 pull nobody watches", 20*time.Second, func() bool { return pulls("vp8") == 0 })
	stopped := time.Since(left)
	waitUntil(t, "A to pause its VP8 rung", 20*time.Second, func() bool {
		v, ok := vp8Paused()
		return ok && v == 1
	})
	t.Logf("FIGURE the VP8 viewer left C: its pull stopped %.1f s later, A's VP8 rung paused %.1f s later",
		stopped.Seconds(), time.Since(left).Seconds())
}
