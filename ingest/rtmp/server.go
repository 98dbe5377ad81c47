package rtmp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mutstream/mutstream/stream"
)

// Authorizer decides whether token may publish stream name. It is called
// before the publish command is accepted; a nil Authorizer refuses everyone.
type Authorizer func(name, token string) bool

// Server accepts RTMP publishers and publishes their streams on a Hub. Each
// connection is served by one goroutine the Server owns; Close waits for them.
type Server struct {
	cfg  Config
	hub  *stream.Hub
	auth Authorizer
	log  *slog.Logger

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	done   chan struct{} // closed by Close
	wg     sync.WaitGroup
}

// NewServer returns a Server that is not listening yet; zero fields of cfg
// take their DefaultConfig values.
func NewServer(cfg Config, hub *stream.Hub, auth Authorizer, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{
		cfg:   cfg.withDefaults(),
		hub:   hub,
		auth:  auth,
		log:   log.With("component", "rtmp"),
		conns: map[net.Conn]struct{}{},
		done:  make(chan struct{}),
	}
}

// Start listens on Config.Addr and serves connections in the background.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("rtmp: start: %w", net.ErrClosed)
	}
	if s.ln != nil {
		return errors.New("rtmp: already started")
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("rtmp: listen on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.acceptLoop(ln)
	s.log.Info("rtmp ingest listening", "addr", ln.Addr().String(), "app", s.cfg.App)
	return nil
}

// Addr returns the address listened on, nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close stops listening, ends every connection (their publications close)
// and waits for every goroutine the Server started.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	close(s.done)
	var err error
	if s.ln != nil {
		if cerr := s.ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			err = fmt.Errorf("rtmp: close listener: %w", cerr)
		}
	}
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
	return s.closed
}

func (s *Server) acceptLoop(ln net.Listener) {
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
		s.track(nc)
	}
}

// track starts a session for nc, or refuses it when closed or full.
func (s *Server) track(nc net.Conn) {
	s.mu.Lock()
	closed, full := s.closed, len(s.conns) >= s.cfg.MaxConns
	if !closed && !full {
		s.conns[nc] = struct{}{}
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if closed || full {
		_ = nc.Close()
		if full && !closed {
			countRejected(reasonTooManyConns)
			s.log.Warn("rtmp connection refused", "reason", reasonTooManyConns,
				"remote", nc.RemoteAddr().String(), "max_conns", s.cfg.MaxConns)
		}
		return
	}
	go func() {
		defer s.wg.Done()
		newSession(s, nc).run()
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
	}()
}
