// Package server wires mediad together: the hub, the transcode pipelines, the
// RTMP and WHEP servers, the demo stream and the HTTP router.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mutstream/mutstream/cluster"
	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/gpu/probe"
	"github.com/mutstream/mutstream/ingest/rtmp"
	"github.com/mutstream/mutstream/internal/connlimit"
	"github.com/mutstream/mutstream/internal/tlscert"
	"github.com/mutstream/mutstream/signaling"
	"github.com/mutstream/mutstream/stream"
	"github.com/mutstream/mutstream/transcode"
	"github.com/mutstream/mutstream/web"
)

// Server is a running mediad.
type Server struct {
	cfg  config.Config
	log  *slog.Logger
	hub  *stream.Hub
	rtmp *rtmp.Server
	whep *signaling.Server
	demo *transcode.Demo
	http *http.Server
	ln   net.Listener
	done chan error

	report    probe.Report
	muts      *mutations
	closing   chan struct{}
	once      sync.Once
	certs     *tlscert.Cert // nil without http.tls
	draining  atomic.Bool
	closeOnce sync.Once
	cluster   *cluster.Node // nil without a cluster section
}

// Capabilities returns what the probe found at start.
func (s *Server) Capabilities() probe.Report { return s.report }

// New builds a server from cfg; Start makes it listen.
func New(cfg config.Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, closing: make(chan struct{})}
	if cfg.HTTP.TLS.Enabled() {
		certs, err := tlscert.Load(cfg.HTTP.TLS.Cert, cfg.HTTP.TLS.Key)
		if err != nil {
			return nil, err
		}
		s.certs = certs
		s.logCert("TLS certificate loaded")
	}
	transcode.RouteFFmpegLogs(log)
	for _, l := range transcode.CaptureFFmpegLogs(func() { s.report = probe.Probe(cfg.GPU.Mode) }) {
		log.Debug("ffmpeg said during the capability probe", "msg", l)
	}
	if err := s.report.Err(); err != nil {
		return nil, err
	}
	muts, err := newMutations(cfg, mutateBackend(cfg.GPU.Mode, log), log)
	if err != nil {
		return nil, err
	}
	muts.hw = hardwareFor(s.report, log)
	s.muts = muts
	s.hub = stream.NewHub(s.startPipeline, log)
	muts.hub = s.hub
	s.hub.SetGrace(cfg.Ingest.Grace)
	if cfg.Cluster != nil {
		s.cluster, err = cluster.New(*cfg.Cluster, s.hub, cluster.Options{Log: log, Viewers: s.localViewers})
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// hardwareFor says which video stages the pipelines try on NVIDIA hardware:
// those the probe found working (gpu: off probes nothing). Each stream, and
// each rung, still falls back to the CPU on its own when the hardware
// refuses it.
func hardwareFor(r probe.Report, log *slog.Logger) transcode.Hardware {
	var hw transcode.Hardware
	if s, ok := r.Stage(probe.StageDecode); ok && s.Backend == probe.BackendNVDEC {
		hw.Decode = true
	}
	if s, ok := r.Stage(probe.StageScale); ok && s.Backend == probe.BackendScaleCUDA {
		hw.Scale = true
	}
	if s, ok := r.Stage(probe.StageEncode); ok && s.Backend == probe.BackendNVENC {
		hw.Encode = true
	}
	log.Info("video backends", "decode_nvdec", hw.Decode, "scale_cuda", hw.Scale, "encode_nvenc", hw.Encode, "gpu", r.GPU)
	return hw
}

// Hub returns the server's hub.
func (s *Server) Hub() *stream.Hub { return s.hub }

// Start listens on every port and starts the demo stream.
func (s *Server) Start() (err error) {
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	s.whep, err = signaling.NewServer(s.cfg.WebRTC, s.hub, s.log)
	if err != nil {
		return err
	}
	az, err := s.cfg.NewAuthorizer(s.log)
	if err != nil {
		return err
	}
	if err := s.whep.SetAuthorizer(az); err != nil {
		return err
	}
	mounters := []web.Mounter{s.whep}
	if s.cluster != nil {
		s.whep.SetBeforeOffer(s.prepareOffer)
		if play := playAuth(az); play != nil {
			// ?stream=NAME: a token that may play NAME only may list the
			// nodes to fail over to (the player passes its stream).
			s.cluster.SetAuthorize(func(r *http.Request) error { return play(r, r.URL.Query().Get("stream")) })
		}
		mounters = append(mounters, s.cluster)
	}
	handler, err := web.NewRouter(s.hub, s.log.With("component", "http"), web.Options{
		AdminToken:   s.cfg.Auth.AdminToken,
		Mutations:    s.muts,
		OverBudget:   ErrOverBudget,
		Busy:         transcode.ErrBusy,
		Capabilities: func() any { return s.report },
		Viewers:      func(name string) any { return s.whep.Viewers(name) },
		Done:         s.closing,

		TrustedProxies: s.cfg.HTTP.TrustedProxies,
		PlayAuth:       playAuth(az),
		MetricsToken:   s.cfg.HTTP.MetricsToken,
		ConnectSrc:     s.connectSrc(),
	}, mounters...)
	if err != nil {
		return err
	}
	if s.cluster != nil {
		s.cluster.Start()
	}
	ln, err := net.Listen("tcp", s.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen HTTP on %s: %w (set http.addr or --http)", s.cfg.HTTP.Addr, err)
	}
	s.ln = connlimit.New(ln, s.cfg.HTTP.MaxConns, s.cfg.HTTP.MaxConnsPerAddr, func(reason string) {
		httpConnsRefused.WithLabelValues(reason).Inc()
	})
	s.http = newHTTPServer(s.cfg.HTTP, s.guard(handler), s.log)
	s.done = make(chan error, 1)
	if s.certs != nil {
		s.http.TLSConfig = s.certs.Config()
		go func() { s.done <- s.http.ServeTLS(s.ln, "", "") }()
	} else {
		go func() { s.done <- s.http.Serve(s.ln) }()
	}

	opts := []rtmp.Option{rtmp.WithStartPublish(rtmpStart(az))}
	if get := s.GetCertificate(); get != nil {
		opts = append(opts, rtmp.WithCertificate(get))
	}
	s.rtmp = rtmp.NewServer(s.cfg.RTMP, s.hub, az.AllowPublish, s.log, opts...)
	if err := s.rtmp.Start(); err != nil {
		return fmt.Errorf("RTMP: %w (set rtmp.addr or --rtmp, rtmp.tls_addr with http.tls)", err)
	}
	if s.cfg.Demo.Enabled {
		s.demo, err = transcode.StartDemo(s.hub, s.cfg.Demo.DemoConfig, s.log)
		if err != nil {
			return fmt.Errorf("demo stream: %w (set demo.enabled: false to run without it)", err)
		}
	}
	return nil
}

// HTTPAddr returns the bound HTTP address.
func (s *Server) HTTPAddr() net.Addr { return s.ln.Addr() }

// RTMPAddr returns the bound RTMP address.
func (s *Server) RTMPAddr() net.Addr { return s.rtmp.Addr() }

// UDPAddr returns the bound WebRTC UDP address.
func (s *Server) UDPAddr() net.Addr { return s.whep.UDPAddr() }

// Done is the HTTP server's exit error.
func (s *Server) Done() <-chan error { return s.done }

// Close stops everything and waits for it: ingest first, then viewers, then
// pipelines. HTTP requests still running after 3 s are cut off. A second
// call (or one at the same time) waits for the first.
func (s *Server) Close() { s.closeOnce.Do(s.close) }

func (s *Server) close() {
	s.once.Do(func() { close(s.closing) })
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if err := s.http.Shutdown(ctx); err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				s.log.Warn("http shutdown", "err", err)
			}
			_ = s.http.Close()
		}
		cancel()
	}
	if s.demo != nil {
		s.demo.Close()
	}
	if s.rtmp != nil {
		_ = s.rtmp.Close()
	}
	if s.whep != nil {
		_ = s.whep.Close()
	}
	s.hub.Close()
	if s.cluster != nil {
		s.cluster.Close()
	}
}
