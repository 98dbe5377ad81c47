package signaling

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// A direct viewer's STUN Binding Requests are answered by the server's
// port, not pion, with the server's own wiring (the session's
// credentials, mediad's controlled role), and the viewer keeps playing
// over several disconnected timeouts.
func TestWHEPDirectViewerSTUNAnsweredByPort(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	if _, err := env.hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	before := testutil.ToFloat64(metrics.ViewerSTUNAnswered)
	c, err := e2e.DialWHEP(env.http.URL + "/whep/cam")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitFor(t, 10*time.Second, "video", func() bool { return c.VideoPackets.Load() > 10 })
	// The client checks every 2 s: 8 answers span more than three of
	// the viewer's disconnected timeouts (5 s).
	waitFor(t, 60*time.Second, "requests answered by the port", func() bool {
		return testutil.ToFloat64(metrics.ViewerSTUNAnswered)-before >= 8
	})
	if n := env.srv.Sessions("whep"); n != 1 {
		t.Fatalf("%d viewer sessions, want the one still playing", n)
	}
	played := c.VideoPackets.Load()
	waitFor(t, 10*time.Second, "more video", func() bool { return c.VideoPackets.Load() > played })
}
