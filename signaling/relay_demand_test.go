package signaling

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/auth"
	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// TestRelayViewerReportsDemand: a viewer pinned to a rung that carries the
// cluster token (a cluster edge's pull) and reports a "demand" on its
// control channel speaks for its own viewers: the rung's encoder sees that
// bitrate, and none again once it reports 0. Any other viewer's "demand"
// is ignored and counted: it could pull a shared rung down for everybody.
func TestRelayViewerReportsDemand(t *testing.T) {
	const clusterToken = "cluster-token-0123456789"
	env := newAuthEnv(t, nil, nil, func(s *Server) {
		a, err := auth.New(auth.DefaultConfig(), auth.Options{ClusterToken: clusterToken})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetAuthorizer(a); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := env.hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	st, _ := env.hub.Lookup("cam")
	lo, err := st.Rung("lo")
	if err != nil {
		t.Fatal(err)
	}

	// A plain viewer's demand: refused, counted, and the rung untouched.
	refused := metrics.HTTPRejected.WithLabelValues("datachannel", "demand_not_relay")
	before := testutil.ToFloat64(refused)
	plain, err := e2e.DialWHEP(env.url + "/whep/cam?rung=lo")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "video for the plain viewer", func() bool { return plain.VideoPackets.Load() > 10 })
	if err := plain.Send(map[string]any{"type": "demand", "estimate": 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the plain viewer's demand refused", func() bool { return testutil.ToFloat64(refused) > before })
	if bps, n := lo.Demand(); n != 0 {
		t.Fatalf("a plain viewer set lo's demand to %d", bps)
	}
	plain.Close()

	c, err := e2e.DialWHEPToken(env.url+"/whep/cam?rung=lo", clusterToken)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
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
