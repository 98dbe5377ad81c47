package server

import (
	"context"
	"crypto/tls"
	"time"
)

// Drain begins a graceful shutdown: new WHIP and WHEP sessions are
// answered 503 with Retry-After, the RTMP server refuses new publishers,
// every publisher is let go and every stream ends at once (its viewers are
// told "ended" on their control channel), and Drain waits until viewer
// and publisher sessions are gone, or ctx ends. HTTP goes on answering
// (503 to new sessions) until Close.
func (s *Server) Drain(ctx context.Context) error {
	s.draining.Store(true)
	s.log.Info("draining: refusing new sessions and ending streams")
	if s.rtmp != nil {
		// Publishers get an RTMP status message before their connection
		// ends (the hub below would kick them without a word).
		if err := s.rtmp.Drain(ctx); err != nil {
			s.log.Warn("rtmp drain", "err", err)
		}
	}
	s.hub.Drain()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for s.whep != nil && s.whep.Sessions() > 0 || s.hub.Live() > 0 {
		select {
		case <-ctx.Done():
			return s.drainTimedOut(ctx)
		case <-tick.C:
		}
	}
	s.log.Info("drained: every session has left")
	return nil
}

func (s *Server) drainTimedOut(ctx context.Context) error {
	n := 0
	if s.whep != nil {
		n = s.whep.Sessions()
	}
	s.log.Warn("drain did not finish in time: closing what is left", "sessions", n, "live_streams", s.hub.Live())
	return ctx.Err()
}

// Draining reports whether Drain has begun.
func (s *Server) Draining() bool { return s.draining.Load() }

// ReloadTLS reads the HTTP certificate and key again (on SIGHUP). When the
// new pair does not load, the one in force stays and the error says why.
// It does nothing without http.tls.
func (s *Server) ReloadTLS() error {
	if s.certs == nil {
		return nil
	}
	if err := s.certs.Reload(); err != nil {
		s.log.Error("TLS certificate not reloaded: keeping the one in force", "err", err)
		return err
	}
	s.logCert("TLS certificate reloaded")
	return nil
}

// GetCertificate returns the tls.Config.GetCertificate of the HTTP
// certificate (reloaded on SIGHUP), for other TLS listeners (RTMPS) to
// share it; nil without http.tls.
func (s *Server) GetCertificate() func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if s.certs == nil {
		return nil
	}
	return s.certs.GetCertificate
}

// TLS reports whether HTTP is served over TLS.
func (s *Server) TLS() bool { return s.certs != nil }

func (s *Server) logCert(msg string) {
	l := s.certs.Leaf()
	s.log.Info(msg, "file", s.cfg.HTTP.TLS.Cert, "subject", l.Subject.String(), "dns", l.DNSNames, "not_after", l.NotAfter)
	if s.certs.Expired(time.Now()) {
		s.log.Warn("TLS certificate is outside its validity period: browsers will refuse it", "not_before", l.NotBefore, "not_after", l.NotAfter)
	}
}
