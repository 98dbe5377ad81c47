package rtmp

import (
	"github.com/mutstream/mutstream/internal/e2e"

	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"

	"github.com/mutstream/mutstream/stream"
)

func TestMaskURL(t *testing.T) {
	cases := map[string]string{
		"rtmp://h/live/cam?token=SECRET":                  "rtmp://h/live/cam?token=***",
		"rtmp://h/live/cam?a=1&token=SECRET&b=2":          "rtmp://h/live/cam?a=1&token=***&b=2",
		`parse "rtmp://h/live/%zz?token=SECRET": invalid`: `parse "rtmp://h/live/%zz?token=***": invalid`,
		"rtmp://h/live/cam?TOKEN=SECRET":                  "rtmp://h/live/cam?TOKEN=***",
		"rtmp://h/live/cam%3Ftoken%3DSECRET":              "rtmp://h/live/cam%3Ftoken%3D***",
		"rtmp://user:SECRET@h/live/cam":                   "rtmp://user:***@h/live/cam",
		"rtmp://h/live/cam?jwt=SECRET":                    "rtmp://h/live/cam?jwt=***",
		"stream \"token=SECRET\" must match":              "stream \"token=***\" must match",
		"rtmp://h/live/cam":                               "rtmp://h/live/cam",
	}
	for in, want := range cases {
		if got := maskURL(in); got != want {
			t.Errorf("maskURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMaskHandler: every kind of attribute this package logs is masked,
// in the message, in With attributes, in groups and in errors.
func TestMaskHandler(t *testing.T) {
	var buf e2e.Buffer
	log := slog.New(newMaskHandler(slog.NewTextHandler(&buf, nil))).With("url", "rtmp://h/a/b?token=SECRET1")
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
