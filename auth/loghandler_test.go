package auth

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

// TestLogHandlerMasksEverywhere: configured secrets and token-like values
// are masked in the message, With attributes, groups, errors and URLs.
func TestLogHandlerMasksEverywhere(t *testing.T) {
	const pub, admin, stream = "pub-0123456789", "adm-abcdef", "studio-key-42"
	var buf bytes.Buffer
	for _, format := range []string{"text", "json"} {
		buf.Reset()
		var base slog.Handler = slog.NewTextHandler(&buf, nil)
		if format == "json" {
			base = slog.NewJSONHandler(&buf, nil)
		}
		log := slog.New(NewLogHandler(base, pub, admin, stream, ""))
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
		for _, want := range []string{"nothing secret", Masked, "rtmp://host/live/cam?token=" + Masked, "refused"} {
			if !strings.Contains(out, want) {
				t.Fatalf("%s: %q missing from the log:\n%s", format, want, out)
			}
		}
	}
}

// TestLogHandlerMasksPatterns: a token that is no configured secret (a
// guess, a typo of a real one) is masked by its parameter name.
func TestLogHandlerMasksPatterns(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(slog.NewTextHandler(&buf, nil))).With("url", "rtmp://h/a/b?token=SECRET1")
	log.WithGroup("g").Info("connect rtmp://h/a/b?token=SECRET2",
		"err", errors.New("bad rtmp://h/a/b?token=SECRET3"),
		"u", &url.URL{Scheme: "rtmp", Host: "h", Path: "/a/b", RawQuery: "token=SECRET4"},
		slog.Group("inner", "s", "token=SECRET5"),
		"n", 7)
	out := buf.String()
	if strings.Contains(out, "SECRET") {
		t.Errorf("a secret reached the log:\n%s", out)
	}
	for _, want := range []string{"token=***", "g.n=7", "connect rtmp://h/a/b?token=***"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
