package server

import (
	"os"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
)

// shapedVP8Env marks the inner run of TestShapedLinkVP8, inside its
// namespace.
const shapedVP8Env = "MEDIAD_SHAPED_VP8_INNER"

// TestShapedLinkVP8 is TestShapedLink for a Chromium viewer that offers
// VP8 only (the player's ?codec=vp8: setCodecPreferences): over a link of
// 5 Mb/s, then 600 kb/s, then 5 Mb/s, the picture steps down across the
// VP8 rungs and climbs back, each switch at a keyframe the server asks
// for, with the picture IDs rewritten so that the decoder sees no jump:
// no freeze longer than the shaped-link bar (freezeBar).
func TestShapedLinkVP8(t *testing.T) {
	if os.Getenv(shapedVP8Env) == "1" {
		shapedVP8Inner(t)
		return
	}
	out, err := runShapedInner(t, "VP8 shaped-link test", shapedVP8Env, "6m", "-test.run=^TestShapedLinkVP8$")
	relayInner(t, out, "shaped_vp8_test.go", "shaped_test.go", "rung switched")
	if err != nil {
		t.Fatalf("inner run failed: %v", err)
	}
}

// shapedVP8Inner runs inside the namespace.
func shapedVP8Inner(t *testing.T) {
	srv, _ := shapedStream(t)
	browser := e2e.NewBrowser(t)
	tab := browser.Open(t, srv.url("/watch/cam?codec=vp8"))
	sample := func() videoStats {
		var s videoStats
		_ = tab.Eval(videoStatsJS, &s)
		return s
	}
	// The top VP8 rung (360p, 640 wide: the VP8 ladder of an H.264
	// publisher has no source rung) at 5 Mb/s.
	deadline := time.Now().Add(60 * time.Second)
	for s := sample(); s.W != 640 || s.F < 60; s = sample() {
		if time.Now().After(deadline) {
			t.Fatalf("never reached the top VP8 rung at 5 Mb/s: %+v", s)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st, err := tab.Stats(); err != nil || st.Codec != "vp8" {
		t.Fatalf("the viewer receives %q (%v), want vp8", st.Codec, err)
	}
	t.Logf("playing VP8 640 wide at 5 Mb/s")
	time.Sleep(3 * time.Second)

	setRate(t, "600kbit")
	atDrop := watchPlayback(t, sample, 20*time.Second, func(s videoStats) bool { return s.W > 0 && s.W < 640 })
	t.Logf("FIGURE VP8 step-down: %s after the drop to 600 kb/s; %s", atDrop.reached(), atDrop.freezes())
	setRate(t, "5mbit")
	atRecovery := watchPlayback(t, sample, 20*time.Second, func(s videoStats) bool { return s.W == 640 })
	t.Logf("FIGURE VP8 climb-back: %s after the link returned to 5 Mb/s; %s", atRecovery.reached(), atRecovery.freezes())

	// The bars of TestShapedLink, and its freeze bar for the switches.
	if atDrop.at < 0 || atDrop.at > 5*time.Second {
		t.Errorf("the picture did not step down within 5 s of the drop to 600 kb/s (%s)", atDrop.reached())
	}
	if atDrop.maxWidthAfter >= 640 {
		t.Errorf("the picture went back up to %d wide on a 600 kb/s link", atDrop.maxWidthAfter)
	}
	if atRecovery.at < 0 || atRecovery.at > 20*time.Second {
		t.Errorf("the picture did not climb back within 20 s of the link's return (%s)", atRecovery.reached())
	}
	if l := max(atDrop.longest, atRecovery.longest); l > freezeBar {
		t.Errorf("longest freeze %s (%s at the drop, %s at the climb back); at most %s accepted", l, atDrop.longest, atRecovery.longest, freezeBar)
	}
	if st, err := tab.Stats(); err != nil || st.Codec != "vp8" {
		t.Fatalf("after the switches the viewer receives %q (%v), want vp8", st.Codec, err)
	}
}
