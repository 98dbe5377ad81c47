package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// HookRequest is the JSON body POSTed to auth.webhook_url. It carries no
// token: the token was checked already; the webhook adds its own policy.
type HookRequest struct {
	// Action is "publish" or "play".
	Action Action `json:"action"`
	// Stream is the stream name.
	Stream string `json:"stream"`
	// Protocol is "whip", "whep", "rtmp", ….
	Protocol string `json:"protocol"`
	// Addr is the client address ("" where unknown).
	Addr string `json:"addr"`
	// Identity names the credential that passed (see Grant).
	Identity string `json:"identity"`
}

// webhook asks an HTTP endpoint and caches its answers.
type webhook struct {
	url     string
	client  *http.Client
	timeout time.Duration
	ttl     time.Duration
	max     int
	now     func() time.Time
	log     *slog.Logger

	mu    sync.Mutex
	cache map[HookRequest]hookAnswer
}

type hookAnswer struct {
	allow bool
	until time.Time
}

func newWebhook(cfg Config, client *http.Client, now func() time.Time, log *slog.Logger) *webhook {
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &webhook{url: cfg.WebhookURL, client: client, timeout: cfg.WebhookTimeout, ttl: cfg.WebhookCache,
		max: cfg.WebhookCacheSize, now: now, log: log, cache: map[HookRequest]hookAnswer{}}
}

// ask returns nil when the webhook allows r; it fails closed.
func (w *webhook) ask(ctx context.Context, r Request, g Grant) error {
	q := HookRequest{Action: r.Action, Stream: r.Stream, Protocol: r.Protocol, Addr: r.Addr, Identity: g.Identity}
	if allow, ok := w.cached(q); ok {
		if allow {
			webhookResults.WithLabelValues("cached_allow").Inc()
			return nil
		}
		webhookResults.WithLabelValues("cached_deny").Inc()
		return ErrWebhookDenied
	}
	status, err := w.call(ctx, q)
	if err != nil {
		result := "error"
		if errors.Is(err, context.DeadlineExceeded) {
			result = "timeout"
		}
		webhookResults.WithLabelValues(result).Inc()
		w.log.Warn("authorization webhook failed; denied", "action", r.Action, "stream", r.Stream, "err", MaskString(err.Error()))
		return fmt.Errorf("%w: %s", ErrWebhookFailed, result)
	}
	allow := status >= 200 && status < 300
	w.store(q, allow)
	if allow {
		webhookResults.WithLabelValues("allow").Inc()
		return nil
	}
	webhookResults.WithLabelValues("deny").Inc()
	return fmt.Errorf("%w (status %d)", ErrWebhookDenied, status)
}

func (w *webhook) call(ctx context.Context, q HookRequest) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	body, err := json.Marshal(q)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, context.DeadlineExceeded
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

func (w *webhook) cached(q HookRequest) (allow, ok bool) {
	if w.ttl <= 0 {
		return false, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	a, ok := w.cache[q]
	if !ok || !w.now().Before(a.until) {
		return false, false
	}
	return a.allow, true
}

// store keeps an answer for the cache's ttl; a full cache first drops
// what expired, then arbitrary entries down to three quarters.
func (w *webhook) store(q HookRequest, allow bool) {
	if w.ttl <= 0 {
		return
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.cache) >= w.max {
		for k, a := range w.cache {
			if !now.Before(a.until) {
				delete(w.cache, k)
			}
		}
		for k := range w.cache {
			if len(w.cache) < w.max*3/4+1 {
				break
			}
			delete(w.cache, k)
		}
	}
	w.cache[q] = hookAnswer{allow: allow, until: now.Add(w.ttl)}
}

// size returns the number of cached answers.
func (w *webhook) size() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.cache)
}
