package main

import (
	"slices"
	"testing"

	"github.com/mutstream/mutstream/cluster"
	"github.com/mutstream/mutstream/config"
)

// TestClusterSecretsMasked: the cluster token and the Redis password are
// among the strings the log handler masks.
func TestClusterSecretsMasked(t *testing.T) {
	cfg := config.Default()
	cfg.Cluster = &cluster.Config{Redis: "redis://:redis-pass-987@10.0.0.9:6379/0", NodeID: "a", AdvertiseURL: "http://a:8080", Token: "cluster-token-0123456789"}
	secrets := append(configSecrets(cfg), clusterSecrets(cfg)...)
	for _, want := range []string{"cluster-token-0123456789", "redis-pass-987"} {
		if !slices.Contains(secrets, want) {
			t.Errorf("%q is not masked in logs (secrets: %d strings)", want, len(secrets))
		}
	}
	cfg.Cluster = nil
	if s := clusterSecrets(cfg); len(s) != 0 {
		t.Errorf("secrets without a cluster: %v", s)
	}
}
