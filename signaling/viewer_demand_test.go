package signaling

import (
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/stream"
)

// TestManualViewerSetsNoDemand: a viewer on a rung it chose by hand reports
// no link bitrate to the rung (so the rung's encoder is never retuned to
// it), whatever its estimate; under automatic control it does, and it
// stops again once it picks a rung by hand.
func TestManualViewerSetsNoDemand(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	if _, err := env.hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	c, err := e2e.DialWHEP(env.http.URL + "/whep/cam?rung=lo")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, _ := env.hub.Lookup("cam")
	demands := func() (n, readers int) {
		for _, f := range st.Rungs() {
			ds, r := f.Demands(nil)
			n, readers = n+len(ds), readers+r
		}
		return n, readers
	}
	stats := func() int {
		n := 0
		for _, m := range c.Messages() {
			if m["type"] == "stats" && m["smoothed"] != nil {
				n++
			}
		}
		return n
	}
	// Two stats messages: the controller has run for a second or more
	// (it decides every 200 ms) and has an estimate.
	waitFor(t, 10*time.Second, "video and the controller's stats", func() bool { return c.VideoPackets.Load() > 10 && stats() >= 2 })
	if n, readers := demands(); n != 0 || readers != 1 {
		t.Fatalf("a manual viewer: %d demands from %d readers, want none from 1", n, readers)
	}
	if err := c.Send(map[string]string{"type": "rung", "rung": "auto"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the automatic viewer's demand", func() bool { n, _ := demands(); return n == 1 })
	if err := c.Send(map[string]string{"type": "rung", "rung": "lo"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a manual viewer on lo", func() bool {
		for _, m := range c.Messages() {
			if m["type"] == "rung" && m["rung"] == "lo" && m["reason"] == "manual" {
				return true
			}
		}
		return false
	})
	waitFor(t, 5*time.Second, "no demand once manual", func() bool { n, r := demands(); return n == 0 && r == 1 })
	seen := stats()
	waitFor(t, 5*time.Second, "two more decisions", func() bool { return stats() >= seen+2 })
	if n, _ := demands(); n != 0 {
		t.Fatalf("a manual viewer reports %d demands after more decisions, want none", n)
	}
}
