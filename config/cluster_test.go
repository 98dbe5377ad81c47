package config

import (
	"strings"
	"testing"
	"time"
)

// TestClusterSection: without a cluster section there is none; with one,
// keys left out take their defaults, a missing required key is an error
// that names it, and unknown keys are refused as everywhere.
func TestClusterSection(t *testing.T) {
	cfg := Default()
	if err := Decode(strings.NewReader("demo:\n  enabled: false\n"), &cfg); err != nil || cfg.Cluster != nil {
		t.Fatalf("no cluster section: %+v %v", cfg.Cluster, err)
	}
	good := "cluster:\n  redis: redis://127.0.0.1:6379\n  node_id: a\n  advertise_url: http://127.0.0.1:8080\n  token: 0123456789abcdef\n"
	cfg = Default()
	if err := Decode(strings.NewReader(good), &cfg); err != nil {
		t.Fatal(err)
	}
	if c := cfg.Cluster.WithDefaults(); c.Lease != 3*time.Second || c.Role != "both" {
		t.Fatalf("defaults not filled: %+v", c)
	}
	for _, tc := range []struct{ yml, key string }{
		{strings.Replace(good, "  token: 0123456789abcdef\n", "", 1), "cluster.token"},
		{strings.Replace(good, "  advertise_url: http://127.0.0.1:8080\n", "", 1), "cluster.advertise_url"},
		{good + "  leese: 3s\n", "leese"},
	} {
		cfg = Default()
		err := Decode(strings.NewReader(tc.yml), &cfg)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: error %v", tc.key, err)
		}
	}
}
