package main

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
)

// TestPprofListenLoopbackOnly: --pprof refuses every address that is not
// loopback (an empty host listens on all interfaces) and serves the
// profiles on a loopback one.
func TestPprofListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{":6060", "0.0.0.0:6060", "[::]:6060", "192.0.2.1:6060", "example.com:6060", "127.0.0.1", ""} {
		if ln, err := pprofListen(addr); !errors.Is(err, errPprofAddr) {
			if ln != nil {
				ln.Close()
			}
			t.Errorf("pprofListen(%q) = %v, want errPprofAddr", addr, err)
		}
	}
	ln, err := pprofListen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err := startPprof(addr, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /debug/pprof/cmdline: %d", resp.StatusCode)
	}
}
