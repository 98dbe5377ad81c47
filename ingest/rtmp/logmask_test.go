package rtmp

import (
	"github.com/mutstream/mutstream/internal/e2e"

	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"

	"github.com/mutstream/mutstream/stream"
)

// TestBadURLLogMasksToken: a publish URL the library cannot parse is
// logged in the library's error with its token masked.
func TestBadURLLogMasksToken(t *testing.T) {
	t.Parallel()
	var buf e2e.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hub := stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) { return newRecorder(pub), nil }, log)
	defer hub.Close()
	srv := NewServer(Config{Addr: "127.0.0.1:0"}, hub, func(_, token string) bool { return token == goodToken }, log)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	// The stream key goes in the fragment: the library's server joins it to
	// the tcUrl and fails to parse the result ("%zz" is no escape).
	u := &url.URL{Scheme: "rtmp", Host: srv.Addr().String(), Path: "/live", Fragment: "%zz?token=SECRET"}
	c := &gortmplib.Client{URL: u, Publish: true}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Initialize(ctx); err == nil {
		c.Close()
		t.Fatal("a publish URL with a bad escape was accepted")
	}
	waitFor(t, 10*time.Second, "the refusal logged", func() bool {
		return strings.Contains(buf.String(), "rtmp connection refused or failed")
	})
	out := buf.String()
	if strings.Contains(out, "SECRET") {
		t.Errorf("the token reached the log:\n%s", out)
	}
	if !strings.Contains(out, "%zz?token=***") {
		t.Errorf("the log line lacks the masked URL:\n%s", out)
	}
}
