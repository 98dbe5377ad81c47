package main

import (
	"github.com/mutstream/mutstream/internal/e2e"

	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mutstream/mutstream/server"
)

const (
	cfgPublish = "configured-publish-token-1234"
	cfgAdmin   = "configured-admin-token-5678"
)

// serveTest runs mediad serve on free ports with tokens from the config,
// driven by sig; it returns the running server and a channel of run's exit
// code.
func serveTest(t *testing.T, sig chan os.Signal) (*server.Server, <-chan int, *e2e.Buffer, *e2e.Buffer) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "mediad.yml")
	yml := "http:\n  addr: 127.0.0.1:0\nrtmp:\n  addr: 127.0.0.1:0\nwebrtc:\n  udp_addr: 127.0.0.1\n" +
		"demo:\n  enabled: false\nauth:\n  publish_token: " + cfgPublish + "\n  admin_token: " + cfgAdmin + "\nshutdown_timeout: 30s\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	started := make(chan *server.Server, 1)
	code := make(chan int, 1)
	stdout, stderr := &e2e.Buffer{}, &e2e.Buffer{}
	go func() {
		code <- runWith([]string{"serve", "--config", cfg, "--webrtc-udp", "0"}, stdout, stderr, hooks{
			signals: sig,
			started: func(s *server.Server) { started <- s },
		})
	}()
	select {
	case srv := <-started:
		return srv, code, stdout, stderr
	case c := <-code:
		t.Fatalf("mediad exited %d at start: %s", c, stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatal("mediad did not start")
	}
	return nil, nil, nil, nil
}

func exitCode(t *testing.T, code <-chan int) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(2 * time.Minute):
		t.Fatal("mediad did not exit")
		return -1
	}
}

func TestSignalDrainsAndExitsZero(t *testing.T) {
	sig := make(chan os.Signal, 2)
	srv, code, stdout, stderr := serveTest(t, sig)
	resp, err := http.Get("http://" + srv.HTTPAddr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sig <- syscall.SIGHUP // no TLS: nothing to reload, and no exit
	sig <- syscall.SIGTERM
	if c := exitCode(t, code); c != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0; stderr:\n%s", c, stderr.String())
	}
	if !strings.Contains(stderr.String(), "draining") {
		t.Fatalf("no drain in the log:\n%s", stderr.String())
	}
	out := stdout.String() + stderr.String()
	for _, secret := range []string{cfgPublish, cfgAdmin} {
		if strings.Contains(out, secret) {
			t.Fatalf("a token from the config was printed:\n%s", out)
		}
	}
	if !strings.Contains(stdout.String(), "(from config)") {
		t.Fatalf("banner does not say the tokens come from the config:\n%s", stdout.String())
	}
}

func TestSecondSignalExitsAtOnce(t *testing.T) {
	sig := make(chan os.Signal, 2)
	srv, code, _, stderr := serveTest(t, sig)
	sig <- syscall.SIGTERM
	sig <- syscall.SIGINT
	if c := exitCode(t, code); c != 1 {
		t.Fatalf("exit %d after a second signal, want 1; stderr:\n%s", c, stderr.String())
	}
	if !strings.Contains(stderr.String(), "second signal") {
		t.Fatalf("no word of the second signal:\n%s", stderr.String())
	}
	srv.Close() // waits for the drain left running in this test process
}

func TestHTTPServerDeathExitsNonZero(t *testing.T) {
	sig := make(chan os.Signal, 2)
	srv, code, _, stderr := serveTest(t, sig)
	// The HTTP server stops without a signal asking for it.
	go srv.Close()
	if c := exitCode(t, code); c != 1 {
		t.Fatalf("exit %d after the HTTP server died, want 1; stderr:\n%s", c, stderr.String())
	}
	if !strings.Contains(stderr.String(), "http server stopped") {
		t.Fatalf("no word of the HTTP server stopping:\n%s", stderr.String())
	}
}

func TestBannerPrintsGeneratedTokens(t *testing.T) {
	out := &e2e.Buffer{}
	sig := make(chan os.Signal, 1)
	code := make(chan int, 1)
	started := make(chan struct{})
	go func() {
		code <- runWith([]string{"serve", "--http", "127.0.0.1:0", "--rtmp", "127.0.0.1:0", "--webrtc-udp", "0"}, out, &e2e.Buffer{}, hooks{
			signals: sig,
			started: func(*server.Server) { close(started) },
		})
	}()
	<-started
	sig <- syscall.SIGTERM
	if c := exitCode(t, code); c != 0 {
		t.Fatalf("exit %d", c)
	}
	if !strings.Contains(out.String(), "(generated; set auth.publish_token") || !strings.Contains(out.String(), "(generated; set auth.admin_token") {
		t.Fatalf("generated tokens not printed:\n%s", out.String())
	}
}
