package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// errPprofAddr is returned for a --pprof address that is not loopback.
var errPprofAddr = errors.New("--pprof must listen on a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT)")

// pprofListen checks that addr is a loopback host and a port, and listens
// there. The profiles show the server's internals, so they never go on a
// public address nor on the public HTTP router.
func pprofListen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return nil, fmt.Errorf("%w: %q", errPprofAddr, addr)
	}
	if host != "localhost" {
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("%w: %q", errPprofAddr, addr)
		}
	}
	if host == "localhost" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return net.Listen("tcp", addr)
}

// startPprof serves net/http/pprof on its own listener at addr (loopback
// only) and returns a func that stops it and waits for it.
func startPprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := pprofListen(addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof server stopped", "err", err)
		}
	}()
	log.Info("pprof listening", "addr", ln.Addr().String())
	return func() {
		_ = srv.Close()
		<-done
	}, nil
}
