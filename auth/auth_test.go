package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestStaticTokens(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PublishToken = "global"
	cfg.Streams = map[string]StreamAuth{"studio": {Token: "own"}}
	open, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	private, err := New(cfg, Options{ViewerToken: "watch"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		a      *Authorizer
		action Action
		stream string
		token  string
		err    error
		id     string
	}{
		{open, Publish, "cam", "global", nil, "publish_token"},
		{open, Publish, "cam", "wrong", ErrBadToken, ""},
		{open, Publish, "cam", "", ErrNoToken, ""},
		{open, Publish, "studio", "own", nil, "stream_token:studio"},
		{open, Publish, "studio", "global", ErrBadToken, ""},
		{open, Publish, "cam", "own", ErrBadToken, ""},
		{open, Play, "cam", "", nil, ""},
		{open, Play, "cam", "anything", nil, ""},
		{private, Play, "cam", "", ErrNoToken, ""},
		{private, Play, "cam", "watch", nil, "viewer_token"},
		{private, Play, "cam", "global", ErrBadToken, ""},
		{private, Publish, "cam", "watch", ErrBadToken, ""},
		{open, "delete", "cam", "global", ErrBadToken, ""},
	} {
		g, err := tc.a.Authorize(context.Background(), Request{Action: tc.action, Stream: tc.stream, Token: tc.token})
		if !errors.Is(err, tc.err) || (err == nil && g.Identity != tc.id) {
			t.Errorf("%s %s with %q (play open %v): %v %q, want %v %q", tc.action, tc.stream, tc.token, tc.a.PlayOpen(), err, g.Identity, tc.err, tc.id)
		}
	}
	if !open.AllowPublish("cam", "global") || open.AllowPublish("studio", "global") || open.AllowPublish("cam", "") {
		t.Error("AllowPublish disagrees with Check")
	}
	if _, err := New(Config{Play: PlayToken, WebhookTimeout: time.Second, WebhookCacheSize: 1}, Options{}); err == nil || !strings.Contains(err.Error(), "auth.play") {
		t.Errorf("play: token with no way to get one: %v", err)
	}
}

func TestEnsureTokens(t *testing.T) {
	var none Config
	if none.Allow("cam", "") {
		t.Fatal("no token configured must refuse everyone")
	}
	if !none.EnsureToken() || len(none.PublishToken) < 16 || !none.Allow("cam", none.PublishToken) {
		t.Fatalf("generated token %q not usable", none.PublishToken)
	}
	if none.EnsureToken() {
		t.Fatal("EnsureToken replaced an existing token")
	}
	withJWT := Config{JWT: JWT{Keys: []JWTKey{{Alg: "HS256", Secret: hsSecret}}}}
	if withJWT.EnsureToken() {
		t.Fatal("a publish token was generated beside JWT keys")
	}
	var admin Config
	if !admin.EnsureAdminToken() || !admin.Admin(admin.AdminToken) || admin.Admin("") || admin.EnsureAdminToken() {
		t.Fatal("admin token")
	}
}

func TestMaxStreamsPerToken(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PublishToken = "global"
	cfg.MaxStreamsPerToken = 2
	cfg.JWT.Keys = []JWTKey{{Alg: "HS256", Secret: hsSecret}}
	a, err := New(cfg, Options{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	grant := func(token, stream string) Grant {
		t.Helper()
		g, err := a.Authorize(context.Background(), Request{Action: Publish, Stream: stream, Token: token})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	g := grant("global", "a")
	relA, err := a.Acquire(g, "a")
	if err != nil {
		t.Fatal(err)
	}
	relB, err := a.Acquire(grant("global", "b"), "b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Acquire(grant("global", "c"), "c"); !errors.Is(err, ErrTooManyStreams) || !strings.Contains(err.Error(), "max_streams_per_token") {
		t.Fatalf("third stream: %v", err)
	}
	// A reconnect to a stream it holds is not a new stream.
	relA2, err := a.Acquire(g, "a")
	if err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	// Two JWTs of one subject share the count; another subject has its own.
	exp := testNow.Add(time.Hour)
	alice1 := sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", claims("alice", []string{"*"}, []string{"publish"}, exp))
	alice2 := sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", claims("alice", []string{"x*"}, []string{"publish"}, exp))
	if _, err := a.Acquire(grant(alice1, "x1"), "x1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Acquire(grant(alice2, "x2"), "x2"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Acquire(grant(alice2, "x3"), "x3"); !errors.Is(err, ErrTooManyStreams) {
		t.Fatalf("alice's third stream: %v", err)
	}
	relA()
	relA() // twice is once
	if a.LiveStreams("publish_token") != 2 {
		t.Fatalf("a released while a reconnect holds it: %d live", a.LiveStreams("publish_token"))
	}
	relA2()
	relC, err := a.Acquire(grant("global", "c"), "c")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	relB()
	relC()
	if a.LiveStreams("publish_token") != 0 {
		t.Fatal("streams left after every release")
	}
	// StartPublish is Authorize and Acquire in one.
	if _, err := a.StartPublish(context.Background(), Request{Stream: "r1", Token: "bad", Protocol: "rtmp"}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("StartPublish with a bad token: %v", err)
	}
	relR1, err := a.StartPublish(context.Background(), Request{Stream: "r1", Token: "global", Protocol: "rtmp", Addr: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	relR2, err := a.StartPublish(context.Background(), Request{Stream: "r2", Token: "global", Protocol: "rtmp"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.StartPublish(context.Background(), Request{Stream: "r3", Token: "global", Protocol: "rtmp"}); !errors.Is(err, ErrTooManyStreams) {
		t.Fatalf("StartPublish over the cap: %v", err)
	}
	relR1()
	relR2()
	// Concurrent acquires never exceed the cap.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var rels []func()
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rel, err := a.Acquire(g, string(rune('a'+i))); err == nil {
				mu.Lock()
				rels = append(rels, rel)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(rels) != 2 || a.LiveStreams("publish_token") != 2 {
		t.Fatalf("%d concurrent acquires passed a cap of 2", len(rels))
	}
}
