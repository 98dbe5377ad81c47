package main

import (
	"testing"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/signaling"
)

func TestConfigSecrets(t *testing.T) {
	cfg := config.Default()
	cfg.Auth.PublishToken = "p1"
	cfg.Auth.AdminToken = "a1"
	cfg.Auth.Streams = map[string]config.StreamAuth{"studio": {Token: "s1"}}
	cfg.WebRTC.ICEServers = []signaling.ICEServer{{URLs: []string{"turn:x"}, Username: "u", Credential: "c1"}}
	got := map[string]bool{}
	for _, s := range configSecrets(cfg) {
		got[s] = true
	}
	for _, want := range []string{"p1", "a1", "s1", "c1"} {
		if !got[want] {
			t.Errorf("secret %q not found in %v", want, got)
		}
	}
	if got["u"] || got["turn:x"] || got[cfg.HTTP.Addr] {
		t.Errorf("non-secrets collected: %v", got)
	}
}
