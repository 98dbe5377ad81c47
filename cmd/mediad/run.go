package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/mutstream/mutstream/auth"
	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/gpu/probe"
	"github.com/mutstream/mutstream/server"
	"github.com/mutstream/mutstream/transcode"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `mediad: a live media server that mutates video in transit.

Usage:
  mediad [serve] [flags]   run the server (the default)
  mediad probe [flags]     print what this machine can do and what mediad will use
  mediad version           print the version

Flags:
`

// hooks let tests drive serve: signals in place of the process's, and the
// server once it runs.
type hooks struct {
	signals <-chan os.Signal
	started func(*server.Server)
	// process makes the logger the process's default, so that libraries
	// logging through slog's or the log package's default are masked too.
	process bool
}

func run(args []string, stdout, stderr io.Writer) int {
	return runWith(args, stdout, stderr, hooks{process: true})
}

func runWith(args []string, stdout, stderr io.Writer, h hooks) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "mediad", version)
		return 0
	case "serve":
		return serve(args, stdout, stderr, h)
	case "probe":
		return probeCmd(args, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "mediad: unknown command %q (want serve, probe or version)\n", cmd)
		return 2
	}
}

func serve(args []string, stdout, stderr io.Writer, h hooks) int {
	fs := flag.NewFlagSet("mediad", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	cfgPath := fs.String("config", "", "YAML config file (default: built-in defaults)")
	httpAddr := fs.String("http", "", "HTTP listen address (default :8080)")
	rtmpAddr := fs.String("rtmp", "", "RTMP listen address (default :1935)")
	udpPort := fs.Int("webrtc-udp", 8189, "WebRTC UDP port for all ICE traffic")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (default info)")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060); off when empty")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg, ok := loadConfig(*cfgPath, stderr)
	if !ok {
		return 2
	}
	if *httpAddr != "" {
		cfg.HTTP.Addr = *httpAddr
	}
	if *rtmpAddr != "" {
		cfg.RTMP.Addr = *rtmpAddr
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "webrtc-udp" {
			cfg.WebRTC.UDPPort = *udpPort
		}
	})
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "mediad: config:", err)
		return 2
	}
	generated := cfg.Auth.EnsureToken()
	adminGenerated := cfg.Auth.EnsureAdminToken()
	// Every secret known now (generated ones included) is masked in every
	// log line from here on.
	log := newLogger(cfg.Log, stderr, append(configSecrets(cfg), clusterSecrets(cfg)...))
	if h.process {
		slog.SetDefault(log)
	}
	sig := h.signals
	if sig == nil {
		c := make(chan os.Signal, 2)
		signal.Notify(c, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(c)
		sig = c
	}
	if *pprofAddr != "" {
		stopPprof, err := startPprof(*pprofAddr, log)
		if err != nil {
			fmt.Fprintln(stderr, "mediad:", err)
			return 2
		}
		defer stopPprof()
	}
	srv, err := server.New(cfg, log)
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	banner(stdout, cfg, srv, generated, adminGenerated)
	if h.started != nil {
		h.started(srv)
	}
	return lifecycle(srv, cfg.ShutdownTimeout, sig, log)
}

// lifecycle runs srv until a signal or a fatal error and returns the exit
// code. SIGHUP reloads the TLS certificate. SIGTERM or SIGINT drains (new
// sessions refused, streams ended, up to timeout for sessions to leave)
// and exits 0; a second one exits 1 at once. The HTTP server stopping
// without being asked exits 1.
func lifecycle(srv *server.Server, timeout time.Duration, sig <-chan os.Signal, log *slog.Logger) int {
	for {
		select {
		case s := <-sig:
			if s == syscall.SIGHUP {
				_ = srv.ReloadTLS()
				continue
			}
			log.Info("shutting down: draining", "signal", s.String(), "shutdown_timeout", timeout)
		case err := <-srv.Done():
			log.Error("http server stopped: exiting", "err", err)
			srv.Close()
			return 1
		}
		break
	}
	done := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go func() {
		defer close(done)
		_ = srv.Drain(ctx)
		srv.Close()
	}()
	for {
		// A signal already waiting wins over a drain that has just
		// finished: the operator asked to stop now.
		var s os.Signal
		select {
		case s = <-sig:
		default:
			select {
			case <-done:
				log.Info("shut down")
				return 0
			case s = <-sig:
			}
		}
		if s == syscall.SIGHUP {
			continue
		}
		log.Warn("second signal: exiting now", "signal", s.String())
		return 1
	}
}

// newLogger returns the logger of c's level and format that masks secrets.
func newLogger(c config.Log, w io.Writer, secrets []string) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(auth.NewLogHandler(h, secrets...))
}

// banner prints what a user pastes into a browser, OBS or ffmpeg.
func banner(w io.Writer, cfg config.Config, srv *server.Server, generated, adminGenerated bool) {
	httpPort := port(srv.HTTPAddr())
	rtmpPort := port(srv.RTMPAddr())
	scheme := "http"
	if srv.TLS() {
		scheme = "https"
	}
	web := scheme + "://localhost:" + httpPort
	rtmpURL := "rtmp://localhost:" + rtmpPort + "/" + cfg.RTMP.App
	if rtmpPort == "1935" {
		rtmpURL = "rtmp://localhost/" + cfg.RTMP.App
	}
	// A token is printed only when it was generated now: one from the
	// config is the operator's already, and a banner ends up in logs.
	token, tokenNote := "$PUBLISH_TOKEN", "(from config)"
	if generated {
		token, tokenNote = cfg.Auth.PublishToken, cfg.Auth.PublishToken+" (generated; set auth.publish_token to fix it)"
	}
	admin := "(from config)"
	if adminGenerated {
		admin = cfg.Auth.AdminToken + " (generated; set auth.admin_token to fix it)"
	}
	adminArg := "$ADMIN_TOKEN"
	if adminGenerated {
		adminArg = cfg.Auth.AdminToken
	}
	fmt.Fprintf(w, "\nmediad %s is running\n\n", version)
	fmt.Fprintf(w, "  Player (all streams):  %s/\n", web)
	if cfg.Demo.Enabled {
		fmt.Fprintf(w, "  Demo stream:           %s/watch/demo\n", web)
	}
	fmt.Fprintf(w, "  Watch stream NAME:     %s/watch/NAME\n", web)
	fmt.Fprintf(w, "  WHEP URL:              %s/whep/NAME\n", web)
	fmt.Fprintf(w, "  RTMP server (OBS):     %s\n", rtmpURL)
	if cfg.Auth.PublishToken != "" {
		fmt.Fprintf(w, "  Publish token:         %s\n", tokenNote)
		fmt.Fprintf(w, "  Stream key (OBS):      NAME?token=%s\n", token)
		fmt.Fprintf(w, "  ffmpeg:                ffmpeg -re -i file.mp4 -c copy -f flv \"rtmp://localhost:%s/%s/NAME?token=%s\"\n", rtmpPort, cfg.RTMP.App, token)
	} else {
		fmt.Fprintf(w, "  Stream key (OBS):      NAME?token=<the stream's token from auth.streams>\n")
	}
	fmt.Fprintf(w, "  Admin token:           %s\n", admin)
	fmt.Fprintf(w, "  Mutations:             curl -X PUT -H \"Authorization: Bearer %s\" %s/api/v1/streams/NAME/mutations -d '[{\"op\":\"color\",\"brightness\":0.1}]'\n", adminArg, web)
	for _, st := range srv.Capabilities().Stages {
		fmt.Fprintf(w, "  %-22s %s (%s)\n", st.Stage+":", st.Backend, st.Reason)
	}
	fmt.Fprintf(w, "  Metrics:               %s/metrics\n", web)
	printCluster(w, cfg)
	fmt.Fprintf(w, "  WebRTC media:          UDP %s\n\n", port(srv.UDPAddr()))
}

func port(a net.Addr) string {
	switch v := a.(type) {
	case *net.TCPAddr:
		return strconv.Itoa(v.Port)
	case *net.UDPAddr:
		return strconv.Itoa(v.Port)
	}
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// probeCmd prints the capability report.
func probeCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mediad probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML config file (its gpu.mode is used)")
	mode := fs.String("gpu", "", "auto, off or require (default: the config's, else auto)")
	asJSON := fs.Bool("json", false, "print JSON, as GET /api/v1/capabilities does")
	verbose := fs.Bool("verbose", false, "also print what FFmpeg said while probing")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg, ok := loadConfig(*cfgPath, stderr)
	if !ok {
		return 2
	}
	if *mode != "" {
		cfg.GPU.Mode = *mode
	}
	var r probe.Report
	said := transcode.CaptureFFmpegLogs(func() { r = probe.Probe(cfg.GPU.Mode) })
	if *asJSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprint(stdout, r.String())
	}
	if *verbose {
		for _, l := range said {
			fmt.Fprintln(stdout, "ffmpeg:", l)
		}
	}
	if err := r.Err(); err != nil {
		fmt.Fprintln(stderr, "mediad:", err)
		return 1
	}
	return 0
}

// loadConfig reads path over the defaults (the defaults alone when path is
// empty), saying on stderr what is wrong.
func loadConfig(path string, stderr io.Writer) (config.Config, bool) {
	if path == "" {
		return config.Default(), true
	}
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "mediad:", err)
		return cfg, false
	}
	return cfg, true
}
