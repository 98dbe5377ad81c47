package auth

import (
	"context"
	"errors"
	"testing"
)

// TestClusterTokenPlays: the cluster token plays like the viewer token,
// publishes nothing, and an empty one matches nothing.
func TestClusterTokenPlays(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PublishToken, cfg.Play = "publish-token-123", PlayToken
	a, err := New(cfg, Options{ViewerToken: "viewer-token-123", ClusterToken: "cluster-token-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g, err := a.Authorize(ctx, Request{Action: Play, Stream: "cam", Token: "cluster-token-0123456789"})
	if err != nil || g.Identity != "cluster_token" {
		t.Fatalf("play with the cluster token: %+v %v", g, err)
	}
	if err := a.Check(ctx, Request{Action: Publish, Stream: "cam", Token: "cluster-token-0123456789"}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("publish with the cluster token: %v, want ErrBadToken", err)
	}
	b, err := New(cfg, Options{ViewerToken: "viewer-token-123"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx, Request{Action: Play, Stream: "cam", Token: "cluster-token-0123456789"}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("a node without a cluster token let it play: %v", err)
	}
}
