package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/signaling"
)

func TestRedactHandlerMasksEverywhere(t *testing.T) {
	const pub, admin, stream = "pub-0123456789", "adm-abcdef", "studio-key-42"
	var buf bytes.Buffer
	for _, format := range []string{"text", "json"} {
		buf.Reset()
		var base slog.Handler = slog.NewTextHandler(&buf, nil)
		if format == "json" {
			base = slog.NewJSONHandler(&buf, nil)
		}
		log := slog.New(newRedactHandler(base, []string{pub, admin, stream, ""}))
		u, _ := url.Parse("rtmp://host/live/cam?token=" + pub)
		log.With("with", "Bearer "+admin).Info("publish refused for token "+pub,
			"url", u,
			"err", fmt.Errorf("connect %s: %w", "rtmp://h/live/x?token="+stream, errors.New("refused")),
			slog.Group("req", "header", "Authorization: Bearer "+admin, "n", 3),
			"plain", "nothing secret")
		log.WithGroup("g").Warn("x", "token", stream)
		out := buf.String()
		for _, s := range []string{pub, admin, stream} {
			if strings.Contains(out, s) {
				t.Fatalf("%s: secret %q reached the log:\n%s", format, s, out)
			}
		}
		for _, want := range []string{"nothing secret", redacted, "rtmp://host/live/cam?token=" + redacted, "refused"} {
			if !strings.Contains(out, want) {
				t.Fatalf("%s: %q missing from the log:\n%s", format, want, out)
			}
		}
	}
}

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
