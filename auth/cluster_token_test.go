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

// TestClusterTokenKnownWhereAnyonePlays: with play open, a request with the
// cluster token is still told apart as another node (it may speak for its
// viewers), and one with any other token or none is not.
func TestClusterTokenKnownWhereAnyonePlays(t *testing.T) {
	a, err := New(DefaultConfig(), Options{ClusterToken: "cluster-token-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	if !a.PlayOpen() {
		t.Fatal("the default config should let anyone play")
	}
	ctx := context.Background()
	for _, tc := range []struct {
		token, want string
	}{
		{"cluster-token-0123456789", IdentityCluster},
		{"cluster-token-012345678", ""},
		{"", ""},
	} {
		g, err := a.Authorize(ctx, Request{Action: Play, Stream: "cam", Token: tc.token})
		if err != nil || g.Identity != tc.want {
			t.Errorf("play with %q: %+v %v, want identity %q", tc.token, g, err, tc.want)
		}
	}
}
