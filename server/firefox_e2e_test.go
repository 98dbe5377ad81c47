package server

import (
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/internal/firefox"
	"github.com/mutstream/mutstream/stream"
	"github.com/mutstream/mutstream/transcode"
)

// vp8Rungs are the VP8 rungs a player may be asked for (no frame-rate
// capped variant), largest first.
func vp8Rungs(in stream.Info) []stream.FeedInfo {
	var out []stream.FeedInfo
	for _, r := range in.Feeds {
		if r.Codec == stream.CodecVP8 && r.LowFPSOf == "" {
			out = append(out, r)
		}
	}
	return out
}

// TestFirefoxWatchesVP8: Firefox ESR as Debian installs it (no OpenH264
// plugin: its offer has VP8, VP9 and AV1 but no H.264) watches the demo
// stream on the built-in player; it is answered with VP8 and decodes the
// top VP8 rung at its size.
func TestFirefoxWatchesVP8(t *testing.T) {
	e2e.FFmpegPath(t)
	ff := firefox.Start(t)
	t.Logf("browser %s", ff.Version)
	srv := startServer(t, true)
	defer srv.Close()
	info := waitLive(t, srv, "demo", 30*time.Second)
	rungs := vp8Rungs(info)
	if len(rungs) == 0 {
		t.Fatalf("the demo has no VP8 rung: %+v", info.Feeds)
	}
	tab := ff.Open(t, srv.url("/watch/demo"))
	defer tab.Close()
	s, err := tab.WaitStats(60*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > 30 && s.Width > 0 })
	if err != nil {
		t.Fatalf("%v\n%s", err, ff.Log())
	}
	if s.Codec != "vp8" {
		t.Fatalf("Firefox receives %q, want vp8", s.Codec)
	}
	if top := rungs[0]; s.Width != top.Width || s.Height != top.Height {
		t.Fatalf("Firefox plays %dx%d, want the top VP8 rung %s at %dx%d", s.Width, s.Height, top.Name, top.Width, top.Height)
	}
	t.Logf("Firefox plays the demo: %s %dx%d, %d frames decoded", s.Codec, s.Width, s.Height, s.FramesDecoded)
	// The player shows the ladder per codec and offers the VP8 rungs.
	want := []string{"auto"}
	for _, r := range rungs {
		want = append(want, r.Name)
	}
	var page struct {
		Ladder  string   `json:"ladder"`
		Options []string `json:"options"`
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		_ = tab.Eval(`({ladder: document.getElementById('ladder').textContent, options: [...document.getElementById('rung').options].map((o) => o.value)})`, &page)
		if strings.Contains(page.Ladder, "vp8: ") && strings.Join(page.Options, " ") == strings.Join(want, " ") {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("the player shows ladder %q and rungs %v; want the VP8 ladder and rungs %v", page.Ladder, page.Options, want)
}

// TestFirefoxPublishesAndWatchesVP8: Firefox publishes its fake camera
// over WHIP (VP8, the only video codec it has) and watches its own
// stream: first the VP8 source rung (the publisher's frames forwarded as
// they came), then, switched on the same player, a transcoded VP8 rung.
func TestFirefoxPublishesAndWatchesVP8(t *testing.T) {
	e2e.FFmpegPath(t)
	ff := firefox.Start(t)
	srv := startServer(t, false)
	defer srv.Close()
	const name = "foxcam"
	pub := ff.Open(t, srv.url("/publish/"+name+"?source=camera&autostart=1&token="+testToken))
	defer pub.Close()
	var state, perr string
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) && state != "publishing" {
		_ = pub.Eval("window.mediadPublish && window.mediadPublish.state", &state)
		time.Sleep(200 * time.Millisecond)
	}
	if state != "publishing" {
		_ = pub.Eval("window.mediadPublish && window.mediadPublish.error", &perr)
		t.Fatalf("Firefox publisher state %q: %s\n%s", state, perr, ff.Log())
	}
	info := waitLive(t, srv, name, 30*time.Second)
	if info.Source == nil || info.Source.Codec != stream.CodecVP8 {
		t.Fatalf("source %+v: the server did not receive VP8", info.Source)
	}
	// The VP8 ladder: the source rung first, then what is transcoded.
	var src, trans *stream.FeedInfo
	deadline = time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && (src == nil || trans == nil) {
		src, trans = nil, nil
		info = waitLive(t, srv, name, 5*time.Second)
		for _, r := range vp8Rungs(info) {
			if r.Name == transcode.SourceRungName {
				src = &r
			} else if trans == nil {
				trans = &r
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	if src == nil || trans == nil {
		t.Fatalf("no VP8 source and transcoded rungs: %+v", info.Feeds)
	}
	t.Logf("source %+v; VP8 rungs %+v", info.Source, vp8Rungs(info))

	tab := ff.Open(t, srv.url("/watch/"+name+"?rung="+transcode.SourceRungName))
	defer tab.Close()
	s, err := tab.WaitStats(40*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > 30 && s.Width > 0 })
	if err != nil {
		t.Fatalf("source rung: %v\n%s", err, ff.Log())
	}
	if s.Codec != "vp8" {
		t.Fatalf("the source rung arrives as %q, want vp8", s.Codec)
	}
	t.Logf("source rung: %dx%d, %d frames decoded", s.Width, s.Height, s.FramesDecoded)
	var rung string
	_ = tab.Eval("window.mediad && window.mediad.rung", &rung)
	if rung != transcode.SourceRungName {
		t.Fatalf("the player is on %q, want the source rung", rung)
	}

	// Switch, on the same PeerConnection, to a transcoded VP8 rung.
	var ok bool
	if err := tab.Eval("window.mediad.setRung("+jsString(trans.Name)+")", &ok); err != nil || !ok {
		t.Fatalf("setRung(%s): %v %v", trans.Name, ok, err)
	}
	before := s.FramesDecoded
	s, err = tab.WaitStats(40*time.Second, func(s e2e.PlayerStats) bool {
		return s.Width == trans.Width && s.Height == trans.Height && s.FramesDecoded > before+30
	})
	if err != nil {
		t.Fatalf("after the switch to %s (%dx%d): %v\n%s", trans.Name, trans.Width, trans.Height, err, ff.Log())
	}
	if s.Codec != "vp8" {
		t.Fatalf("rung %s arrives as %q, want vp8", trans.Name, s.Codec)
	}
	t.Logf("rung %s: %dx%d, %d frames decoded", trans.Name, s.Width, s.Height, s.FramesDecoded)
}
