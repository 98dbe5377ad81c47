package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/internal/e2e"
)

// waitFor polls cond until it holds, failing after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDrain: while draining, a new WHEP offer gets 503 with Retry-After,
// a viewer watching is told "ended" on its control channel and let go,
// and Drain returns once it has gone.
func TestDrain(t *testing.T) {
	srv := startWith(t, func(c *config.Config) {
		c.Demo.Enabled = true
		c.Demo.Width, c.Demo.Height, c.Demo.FPS = 320, 180, 15
		c.Ingest.Grace = time.Hour // only the drain can end the stream
	})
	waitLive(t, srv, "demo", 60*time.Second)
	v, err := e2e.DialWHEP(srv.url("/whep/demo"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	waitFor(t, 60*time.Second, "video at the viewer", func() bool { return v.VideoPackets.Load() > 0 })

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- srv.Drain(ctx) }()
	waitFor(t, 30*time.Second, `"ended" at the viewer`, func() bool {
		for _, m := range v.Messages() {
			if m["type"] == "ended" {
				return true
			}
		}
		return false
	})
	if !srv.Draining() {
		t.Fatal("not draining")
	}
	if err := <-drained; err != nil {
		t.Fatalf("drain: %v", err)
	}
	// HTTP answers until Close: a new offer is refused with a hint to
	// come back.
	resp, err := http.Post(srv.url("/whep/demo"), "application/sdp", strings.NewReader("v=0\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("new WHEP offer while draining: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// A WHIP offer too, whatever its token.
	req, _ := http.NewRequest(http.MethodPost, srv.url("/whip/cam"), strings.NewReader("v=0\r\n"))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/sdp")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("new WHIP offer while draining: %d", resp.StatusCode)
	}
	if n := srv.whep.Sessions(); n != 0 {
		t.Fatalf("%d sessions left after drain", n)
	}
}
