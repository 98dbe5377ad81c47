package cluster

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

type releaser func()

func (r releaser) Close() error { r(); return nil }

// testNode is a node on its own hub whose pipelines only hold the origin
// lease, as server's start function does around a transcode.
func testNode(t *testing.T, id, redisURL string) (*Node, *stream.Hub) {
	t.Helper()
	var n *Node
	hub := stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
		release, err := n.ClaimOrigin(pub)
		if err != nil {
			return nil, err
		}
		return releaser(release), nil
	}, nil)
	n, err := New(Config{Redis: redisURL, NodeID: id, AdvertiseURL: "http://" + id + ".test", Token: "0123456789abcdef", Lease: 600 * time.Millisecond}, hub, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n.Start()
	return n, hub
}

var tracks = []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}

// TestTakeoverAcrossNodes: a publisher on node B takes a stream from the
// publisher on node A, whose node kicks it; B's record goes when it leaves;
// both nodes close without leaving a goroutine behind.
func TestTakeoverAcrossNodes(t *testing.T) {
	r := e2e.StartRedis(t)
	ignore := goleak.IgnoreCurrent()
	a, hubA := testNode(t, "a", r.URL())
	b, hubB := testNode(t, "b", r.URL())
	ctx := context.Background()

	var kicked atomic.Bool
	var pubA *stream.Publication
	pubA, err := hubA.Publish("cam", "rtmp", tracks, func() {
		kicked.Store(true)
		go pubA.Close() // as an ingest does when its connection ends
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A recorded as the origin", 5*time.Second, func() bool {
		o, err := a.Directory().Lookup(ctx, "cam")
		return err == nil && o.Node == "a"
	})
	pubB, err := hubB.Publish("cam", "rtmp", tracks, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A's publisher kicked", 5*time.Second, kicked.Load)
	waitFor(t, "A's stream offline", 5*time.Second, func() bool { _, err := hubA.Lookup("cam"); return errors.Is(err, stream.ErrNotLive) })
	if o, err := b.Directory().Lookup(ctx, "cam"); err != nil || o.Node != "b" {
		t.Fatalf("origin after the takeover: %+v %v", o, err)
	}
	// A's release after the kick did not delete B's record, and B's
	// renewals keep it for three leases and more.
	for until := time.Now().Add(3 * b.Config().Lease); time.Now().Before(until); time.Sleep(50 * time.Millisecond) {
		if o, err := b.Directory().Lookup(ctx, "cam"); err != nil || o.Node != "b" {
			t.Fatalf("B's record lost while it publishes: %+v %v", o, err)
		}
	}
	pubB.Close()
	waitFor(t, "B's record released", 5*time.Second, func() bool {
		_, err := b.Directory().Lookup(ctx, "cam")
		return errors.Is(err, ErrNoOrigin)
	})
	hubA.Close()
	hubB.Close()
	a.Close()
	b.Close()
	goleak.VerifyNone(t, ignore)
}

// TestPrepareWithRedisDown: an offer for a stream not published here gets
// an error wrapping ErrUnavailable while Redis is away, and a stream
// published here is served without asking Redis.
func TestPrepareWithRedisDown(t *testing.T) {
	r := e2e.StartRedis(t)
	n, hub := testNode(t, "c", r.URL())
	defer func() { hub.Close(); n.Close() }()
	if _, err := hub.Publish("local", "rtmp", tracks, nil); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	ctx := context.Background()
	if err := n.Prepare(ctx, "elsewhere"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Prepare of a remote stream with Redis down: %v, want ErrUnavailable", err)
	}
	if err := n.Prepare(ctx, "local"); err != nil {
		t.Fatalf("Prepare of a local stream with Redis down: %v", err)
	}
	r.Start()
	waitFor(t, "metrics.ClusterLookups to work again", 10*time.Second, func() bool { return n.Prepare(ctx, "elsewhere") == nil })
}

// TestPrepareEdgePublicationWithoutEdgeStream: an offer for a stream
// whose edge publication has no edge stream (it is on its way out, gone
// from the node's edges while it closes the publication) starts a new
// edge stream, so the viewer is not left on a dying publication.
func TestPrepareEdgePublicationWithoutEdgeStream(t *testing.T) {
	r := e2e.StartRedis(t)
	n, hub := testNode(t, "e", r.URL())
	defer func() { hub.Close(); n.Close() }()
	if _, err := hub.Publish("cam", Protocol, tracks, nil); err != nil {
		t.Fatal(err)
	}
	if err := n.Prepare(context.Background(), "cam"); err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	es := n.edges["cam"]
	n.mu.Unlock()
	if es == nil {
		t.Fatal("an offer for an edge publication with no edge stream started none")
	}
}

// TestRepublishClearsStale: a publication made because there was none
// (or the origin changed) also covers a ladder change marked meanwhile:
// the next check does not publish a second time.
func TestRepublishClearsStale(t *testing.T) {
	var es edgeStream
	es.stale.Store(true)
	if !es.republish(true, false) {
		t.Fatal("no publication: not republished")
	}
	if es.republish(false, false) {
		t.Fatal("published, same origin, ladder already fetched: republished again")
	}
	es.stale.Store(true)
	if !es.republish(false, false) {
		t.Fatal("a ladder change: not republished")
	}
	if es.republish(false, false) {
		t.Fatal("the stale mark outlived its publication")
	}
}

// TestClaimAfterRedisReturns: a publisher whose origin claim failed (Redis
// away) claims the stream once Redis answers, over the record of an
// origin that died meanwhile, and is not kicked for it; a node closed
// starts no lease.
func TestClaimAfterRedisReturns(t *testing.T) {
	r := e2e.StartRedis(t)
	ctx := context.Background()
	other, err := NewDirectory(Config{Redis: r.URL(), Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, _, err := other.Claim(ctx, "cam", "dead", "http://dead.test"); err != nil {
		t.Fatal(err)
	}
	n, hub := testNode(t, "a", r.URL())
	defer func() { hub.Close(); n.Close() }()

	claimErrs := func() float64 { return testutil.ToFloat64(metrics.ClusterRedisErrors.WithLabelValues("claim")) }
	before := claimErrs()
	r.Pause()
	var kicked atomic.Bool
	if _, err := hub.Publish("cam", "rtmp", tracks, func() { kicked.Store(true) }); err != nil {
		r.Resume()
		t.Fatal(err)
	}
	waitFor(t, "the claim to fail while Redis is paused", 10*time.Second, func() bool { return claimErrs() > before })
	r.Resume()
	waitFor(t, "A recorded as the origin", 10*time.Second, func() bool {
		o, err := other.Lookup(ctx, "cam")
		return err == nil && o.Node == "a"
	})
	if kicked.Load() {
		t.Fatal("the publisher on A was kicked for the dead origin's record")
	}

	n.Close()
	if _, err := hub.Publish("late", "rtmp", tracks, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("a publication on a closed node: %v, want ErrClosed from its origin claim", err)
	}
}
