package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mutstream/mutstream/auth"
	"github.com/mutstream/mutstream/internal/rawread"
	"github.com/mutstream/mutstream/stream"
)

// Authorizer decides whether token may publish stream name. It is called
// before the publish command is accepted; a nil Authorizer refuses everyone.
type Authorizer func(name, token string) bool

// StartPublish authorizes a publish with the client's address and counts
// it (a cap on the streams one token publishes); release ends the count
// and is called when the connection ends. It replaces the Authorizer.
type StartPublish func(ctx context.Context, name, token, addr string) (release func(), err error)

// GetCertificate returns the certificate for a TLS handshake, like
// tls.Config.GetCertificate. The server's may reload its files at any time.
type GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)

// Option configures a Server in NewServer.
type Option func(*Server) error

// WithStartPublish checks and counts each publish with fn instead of the
// Authorizer.
func WithStartPublish(fn StartPublish) Option {
	return func(s *Server) error {
		if fn == nil {
			return errors.New("rtmp: WithStartPublish: nil StartPublish")
		}
		s.start = fn
		return nil
	}
}

// WithCertificate gives the RTMPS listener (Config.TLSAddr) its certificate.
func WithCertificate(get GetCertificate) Option {
	return func(s *Server) error {
		if get == nil {
			return errors.New("rtmp: WithCertificate: nil GetCertificate")
		}
		s.getCert = get
		return nil
	}
}

// Server accepts RTMP and RTMPS publishers and publishes their streams on a
// Hub. Each connection is served by one goroutine the Server owns; Close and
// Drain wait for them.
type Server struct {
	cfg     Config
	hub     *stream.Hub
	auth    Authorizer
	start   StartPublish
	log     *slog.Logger
	getCert GetCertificate
	optErr  error
	refusal logSampler // accept-time refusals: one line a second at most

	mu       sync.Mutex
	lns      []net.Listener // RTMP, then RTMPS when configured
	conns    map[net.Conn]*session
	perAddr  map[string]int // connections by addrKey
	draining bool           // no new connections; sessions told to end
	closed   bool
	done     chan struct{} // closed by Close
	wg       sync.WaitGroup
	connWG   sync.WaitGroup // the sessions alone, for Drain
}

// NewServer returns a Server that is not listening yet; zero fields of cfg
// take their DefaultConfig values. Its log lines never carry a token.
func NewServer(cfg Config, hub *stream.Hub, allow Authorizer, log *slog.Logger, opts ...Option) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{
		cfg:     cfg.withDefaults(),
		hub:     hub,
		auth:    allow,
		log:     slog.New(auth.NewLogHandler(log.Handler())).With("component", "rtmp"),
		conns:   map[net.Conn]*session{},
		perAddr: map[string]int{},
		done:    make(chan struct{}),
	}
	for _, o := range opts {
		if err := o(s); err != nil && s.optErr == nil {
			s.optErr = err
		}
	}
	return s
}

// Start listens on Config.Addr (and Config.TLSAddr when set) and serves
// connections in the background.
func (s *Server) Start() error {
	if s.optErr != nil {
		return s.optErr
	}
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	if s.cfg.TLSAddr != "" && s.getCert == nil {
		return errors.New("rtmp.tls_addr is set but the server has no certificate for RTMPS (configure TLS certificates)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.draining {
		return fmt.Errorf("rtmp: start: %w", net.ErrClosed)
	}
	if s.lns != nil {
		return errors.New("rtmp: already started")
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("rtmp: listen on %s: %w", s.cfg.Addr, err)
	}
	lns := []net.Listener{ln}
	if s.cfg.TLSAddr != "" {
		tln, err := net.Listen("tcp", s.cfg.TLSAddr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("rtmp: listen for RTMPS on %s (rtmp.tls_addr): %w", s.cfg.TLSAddr, err)
		}
		lns = append(lns, tln)
	}
	s.lns = lns
	for i, l := range lns {
		s.wg.Add(1)
		go s.acceptLoop(l, i == 1)
	}
	s.log.Info("rtmp ingest listening", "addr", ln.Addr().String(), "app", s.cfg.App)
	if len(lns) > 1 {
		s.log.Info("rtmps ingest listening", "addr", lns[1].Addr().String(), "app", s.cfg.App)
	}
	return nil
}

// Addr returns the RTMP address listened on, nil before Start.
func (s *Server) Addr() net.Addr { return s.listenAddr(0) }

// TLSAddr returns the RTMPS address listened on, nil before Start or when
// Config.TLSAddr is empty.
func (s *Server) TLSAddr() net.Addr { return s.listenAddr(1) }

func (s *Server) listenAddr(i int) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lns) <= i {
		return nil
	}
	return s.lns[i].Addr()
}

// stopListening closes the listeners; the caller holds s.mu.
func (s *Server) stopListening() error {
	var errs []error
	for _, l := range s.lns {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("rtmp: close listener: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Close stops listening, ends every connection at once (their publications
// close) and waits for every goroutine the Server started. Drain ends them
// with a status message instead.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	close(s.done)
	err := s.stopListening()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed || s.draining
}

func (s *Server) acceptLoop(ln net.Listener, useTLS bool) {
	defer s.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait and retry.
			s.log.Warn("rtmp accept", "err", err)
			select {
			case <-s.done:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		s.track(nc, useTLS)
	}
}

// track starts a session for nc, or refuses it when closed, draining or
// full (in all, or for its address).
func (s *Server) track(nc net.Conn, useTLS bool) {
	key := addrKey(nc.RemoteAddr())
	s.mu.Lock()
	reason := ""
	switch {
	case s.closed || s.draining:
		reason = "closed"
	case len(s.conns) >= s.cfg.MaxConns:
		reason = reasonTooManyConns
	case s.perAddr[key] >= s.cfg.MaxConnsPerAddr:
		reason = reasonTooManyPerAddr
	}
	var sess *session
	if reason == "" {
		// Read raw, so that a publisher's reads leave the runtime's
		// sysmon asleep (rawread).
		conn := rawread.Conn(nc)
		if useTLS {
			conn = tls.Server(conn, &tls.Config{GetCertificate: s.getCert, MinVersion: tls.VersionTLS12})
		}
		sess = newSession(s, conn, useTLS)
		s.conns[nc] = sess
		s.perAddr[key]++
		s.wg.Add(1)
		s.connWG.Add(1)
	}
	s.mu.Unlock()
	if sess == nil {
		_ = nc.Close()
		if reason != "closed" {
			countRejected(reason)
			if ok, skipped := s.refusal.allow(time.Now()); ok {
				s.log.Warn("rtmp connection refused", "reason", reason, "remote", nc.RemoteAddr().String(),
					"max_conns", s.cfg.MaxConns, "max_conns_per_addr", s.cfg.MaxConnsPerAddr,
					"refusals_not_logged", skipped)
			}
		}
		return
	}
	go func() {
		defer s.wg.Done()
		defer s.connWG.Done()
		sess.run()
		s.mu.Lock()
		delete(s.conns, nc)
		if s.perAddr[key]--; s.perAddr[key] <= 0 {
			delete(s.perAddr, key)
		}
		s.mu.Unlock()
	}()
}

// addrKey is the key a client address is counted under: its IP, or its /64
// for IPv6 (one subscriber's allocation).
func addrKey(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		return ip4.String()
	}
	return ta.IP.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// logSampler lets one log line a second through and counts the others, so a
// flood of refused connections cannot flood the log (the metric counts all).
type logSampler struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

// allow reports whether to log now, and how many lines were held back
// since the last one.
func (l *logSampler) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.last) < time.Second {
		l.skipped++
		return false, 0
	}
	skipped := l.skipped
	l.last, l.skipped = now, 0
	return true, skipped
}
