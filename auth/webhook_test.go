package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// hookServer answers with status per stream name and records what it got.
type hookServer struct {
	*httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	last  map[string]any
	hang  chan struct{}
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{hang: make(chan struct{})}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.calls.Add(1)
		var q map[string]any
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&q) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.last = q
		h.mu.Unlock()
		switch q["stream"] {
		case "allowed":
			w.WriteHeader(http.StatusNoContent)
		case "slow":
			select {
			case <-h.hang:
			case <-r.Context().Done():
			}
		case "moved":
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	t.Cleanup(func() { close(h.hang); h.Close() })
	return h
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestWebhook(t *testing.T) {
	h := newHookServer(t)
	clk := &clock{now: testNow}
	cfg := DefaultConfig()
	cfg.PublishToken = "global-token-0123"
	cfg.WebhookURL = h.URL + "/auth"
	cfg.WebhookTimeout = 200 * time.Millisecond
	cfg.WebhookCache = 30 * time.Second
	cfg.WebhookCacheSize = 4
	a, err := New(cfg, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := func(stream string) Request {
		return Request{Action: Publish, Stream: stream, Token: "global-token-0123", Addr: "192.0.2.7", Protocol: "whip"}
	}
	results := func(r string) float64 { return testutil.ToFloat64(webhookResults.WithLabelValues(r)) }
	allow0, deny0, cached0, timeout0 := results("allow"), results("deny"), results("cached_allow"), results("timeout")

	if err := a.Check(ctx, req("allowed")); err != nil {
		t.Fatalf("2xx: %v", err)
	}
	h.mu.Lock()
	got := h.last
	h.mu.Unlock()
	want := map[string]any{"action": "publish", "stream": "allowed", "protocol": "whip", "addr": "192.0.2.7", "identity": "publish_token"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("webhook got %v, want %v", got, want)
	}
	if err := a.Check(ctx, req("denied")); !errors.Is(err, ErrWebhookDenied) || !strings.Contains(err.Error(), "403") {
		t.Fatalf("403: %v", err)
	}
	if err := a.Check(ctx, req("moved")); !errors.Is(err, ErrWebhookDenied) {
		t.Fatalf("a redirect allowed: %v", err)
	}
	// A token that fails never reaches the webhook.
	n := h.calls.Load()
	if err := a.Check(ctx, Request{Action: Publish, Stream: "allowed", Token: "bad"}); !errors.Is(err, ErrBadToken) || h.calls.Load() != n {
		t.Fatalf("bad token: %v, webhook called %d times", err, h.calls.Load()-n)
	}
	// Cached: the same question is not asked again within webhook_cache.
	if err := a.Check(ctx, req("allowed")); err != nil || h.calls.Load() != n {
		t.Fatalf("cached allow: %v, %d calls", err, h.calls.Load()-n)
	}
	if err := a.Check(ctx, req("denied")); !errors.Is(err, ErrWebhookDenied) || h.calls.Load() != n {
		t.Fatalf("cached deny: %v", err)
	}
	clk.Add(31 * time.Second)
	if err := a.Check(ctx, req("allowed")); err != nil || h.calls.Load() != n+1 {
		t.Fatalf("after expiry: %v, %d calls", err, h.calls.Load()-n)
	}
	// Timeout: fails closed and is not cached.
	start := time.Now()
	if err := a.Check(ctx, req("slow")); !errors.Is(err, ErrWebhookFailed) || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("timeout: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("timeout of 200ms took %v", d)
	}
	n = h.calls.Load()
	if err := a.Check(ctx, req("slow")); !errors.Is(err, ErrWebhookFailed) || h.calls.Load() != n+1 {
		t.Fatalf("a failure was cached: %v", err)
	}
	if d := results("allow") - allow0; d != 2 {
		t.Errorf("allow counted %v, want 2", d)
	}
	if d := results("deny") - deny0; d != 2 {
		t.Errorf("deny counted %v, want 2", d)
	}
	if d := results("cached_allow") - cached0; d != 1 {
		t.Errorf("cached_allow counted %v, want 1", d)
	}
	if d := results("timeout") - timeout0; d != 2 {
		t.Errorf("timeout counted %v, want 2", d)
	}
	// The cache stays bounded.
	for i := 0; i < 20; i++ {
		_ = a.Check(ctx, req(fmt.Sprintf("s%d", i)))
		if s := a.hook.size(); s > cfg.WebhookCacheSize {
			t.Fatalf("cache holds %d > %d", s, cfg.WebhookCacheSize)
		}
	}
	// Unreachable: fails closed.
	h2 := httptest.NewServer(http.NotFoundHandler())
	cfg.WebhookURL = h2.URL
	h2.Close()
	b, err := New(cfg, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx, req("allowed")); !errors.Is(err, ErrWebhookFailed) {
		t.Fatalf("unreachable webhook: %v", err)
	}
}

func TestWebhookConfig(t *testing.T) {
	for _, tc := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.WebhookURL = "ftp://x/y" }, "auth.webhook_url"},
		{func(c *Config) { c.WebhookURL = "http://u:hunter2@/" }, "auth.webhook_url"},
		{func(c *Config) { c.WebhookTimeout = 0 }, "auth.webhook_timeout"},
		{func(c *Config) { c.WebhookCacheSize = 0 }, "auth.webhook_cache_size"},
		{func(c *Config) { c.MaxStreamsPerToken = -1 }, "auth.max_streams_per_token"},
		{func(c *Config) { c.Play = "maybe" }, "auth.play"},
		{func(c *Config) { c.Streams = map[string]StreamAuth{"a b": {Token: "x"}} }, "auth.streams.a b"},
		{func(c *Config) { c.Streams = map[string]StreamAuth{"ab": {}} }, "auth.streams.ab.token"},
	} {
		cfg := DefaultConfig()
		tc.mut(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v, want %q", err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("a secret in a config error: %v", err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}
