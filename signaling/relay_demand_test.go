package signaling

import (
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/stream"
)

// TestRelayViewerReportsDemand: a viewer pinned to a rung (a cluster
// edge's pull) that reports a "demand" on its control channel speaks for
// its own viewers: the rung's encoder sees that bitrate, and none again
// once it reports 0.
func TestRelayViewerReportsDemand(t *testing.T) {
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
	lo, err := st.Rung("lo")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "video", func() bool { return c.VideoPackets.Load() > 10 })
	if err := c.Send(map[string]any{"type": "demand", "estimate": 700000}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the relayed demand on lo", func() bool {
		bps, n := lo.Demand()
		return n == 1 && bps == 700000
	})
	if err := c.Send(map[string]any{"type": "demand", "estimate": 0}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "no demand once the edge reports none", func() bool { _, n := lo.Demand(); return n == 0 })
}
