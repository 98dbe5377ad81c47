package rtmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortmplib"

	"github.com/mutstream/mutstream/stream"
)

// Bounds on what a peer may send before its publication starts.
const (
	handshakeBudget = 1 << 20  // handshake, connect and publish commands
	probeBudget     = 64 << 20 // media held while the library finds the tracks
	probeMaxTime    = 15 * time.Second
)

// errKicked ends a session whose publication was taken over.
var errKicked = errors.New("kicked: another publisher took over the stream")

// session serves one connection, from handshake to the end of its
// publication. Its goroutine is owned by the Server.
type session struct {
	srv    *Server
	nc     net.Conn // the TLS connection for RTMPS
	guard  *chunkGuard
	bc     *budgetConn
	log    *slog.Logger
	kicked atomic.Bool
	authed bool // the token was accepted; only the session goroutine uses it

	mu       sync.Mutex // orders deadline changes against drain
	draining bool

	packets uint64
	bytes   uint64
}

func newSession(srv *Server, nc net.Conn, useTLS bool) *session {
	cfg := srv.cfg
	proto := "rtmp"
	if useTLS {
		proto = "rtmps"
	}
	s := &session{
		srv:   srv,
		nc:    nc,
		guard: newChunkGuard(nc, min(preAuthMaxBody, cfg.MaxMessageSize), cfg.MaxChunkSize, 2*cfg.MaxMessageSize),
		log:   srv.log.With("remote", nc.RemoteAddr().String(), "proto", proto),
	}
	s.bc = &budgetConn{Conn: s.guard}
	s.bc.setBudget(handshakeBudget)
	return s
}

// drain makes the session end with a status message: its next read, or
// the one it is blocked in, fails with errDraining. It never blocks.
func (s *session) drain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.draining = true
	_ = s.nc.SetReadDeadline(time.Unix(1, 0))
}

func (s *session) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// setDeadline sets the connection's deadline unless the session drains.
func (s *session) setDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return errDraining
	}
	return s.nc.SetDeadline(t)
}

// setReadDeadline sets the read deadline unless the session drains.
func (s *session) setReadDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return errDraining
	}
	return s.nc.SetReadDeadline(t)
}

// kick ends the connection; the Hub calls it on takeover. It never blocks.
func (s *session) kick() {
	s.kicked.Store(true)
	_ = s.nc.Close()
}

// run serves the connection and logs (and counts) how it ended.
func (s *session) run() {
	defer s.nc.Close()
	err := s.serveSafely()
	switch {
	case err == nil:
		s.log.Info("rtmp publisher finished", "packets", s.packets, "bytes", s.bytes)
	case errors.Is(err, errKicked):
		s.log.Info("rtmp publisher kicked", "reason", "takeover", "packets", s.packets)
	case errors.Is(err, errDraining):
		s.log.Info("rtmp connection ended: server shutting down", "packets", s.packets)
	case s.srv.closing():
		s.log.Info("rtmp connection closed by server shutdown", "packets", s.packets)
	default:
		reason := reasonOf(err, reasonReadError)
		countRejected(reason)
		s.log.Warn("rtmp connection refused or failed", "reason", reason, "err", clip(err.Error()), "packets", s.packets)
	}
}

// serveSafely runs serve, turning a panic in the RTMP library (whatever the
// peer sent) into an error that ends only this connection.
func (s *session) serveSafely() (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = reject(reasonInternal, "rtmp library panic: %v", v)
		}
	}()
	return s.serve()
}

func (s *session) serve() error {
	cfg := s.srv.cfg
	start := time.Now()
	if err := s.setDeadline(start.Add(min(cfg.AuthTimeout, cfg.HandshakeTimeout))); err != nil {
		return s.setupFailed(err, "set deadline")
	}
	sc := &gortmplib.ServerConn{RW: s.bc}
	if err := sc.Initialize(); err != nil {
		return s.setupFailed(err, "handshake or connect")
	}
	if err := sc.AcceptConn(); err != nil {
		return s.setupFailed(err, "waiting for publish")
	}
	if !sc.Publish {
		_ = sendError(sc, codePlayFailed, "this server only accepts publishers; watch over WebRTC")
		linger(s.nc)
		return reject(reasonPlayRefused, "%w (url %s)", ErrPlayRefused, redactURL(sc))
	}
	target, err := parsePublishURL(sc.URL, cfg.App)
	if err != nil {
		_ = sendError(sc, codePublishBadName, err.Error())
		linger(s.nc)
		return reject(reasonBadURL, "%w", err)
	}
	s.log = s.log.With("stream", target.name)
	release, err := s.authorize(target)
	if err != nil {
		_ = sendError(sc, codePublishUnauthorized, "not allowed to publish this stream: "+err.Error())
		linger(s.nc)
		return reject(reasonUnauthorized, "%w: stream %q: %v", ErrUnauthorized, target.name, err)
	}
	defer release()
	s.authed = true
	s.guard.setMaxBody(cfg.MaxMessageSize)
	if err := s.setDeadline(start.Add(cfg.HandshakeTimeout)); err != nil {
		return s.setupFailed(err, "set deadline")
	}
	if err := sc.AcceptAction(); err != nil {
		return s.setupFailed(err, "accept publish")
	}
	err = s.publish(sc, target.name)
	if errors.Is(err, errDraining) {
		s.goodbye(sc)
	}
	return err
}

// authorize checks a publish with StartPublish (which also counts it) or
// the Authorizer; release ends the count.
func (s *session) authorize(target publishTarget) (release func(), err error) {
	if s.srv.start != nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.srv.cfg.AuthTimeout)
		defer cancel()
		host, _, _ := net.SplitHostPort(s.nc.RemoteAddr().String())
		return s.srv.start(ctx, target.name, target.token, host)
	}
	if s.srv.auth == nil || !s.srv.auth(target.name, target.token) {
		return nil, errors.New("invalid or missing token for this stream")
	}
	return func() {}, nil
}

// setupFailed classifies an error before the publication starts: a drain,
// a limit the chunk guard enforced, the auth deadline, or a handshake error.
func (s *session) setupFailed(err error, what string) error {
	if s.isDraining() || errors.Is(err, errDraining) {
		return errDraining
	}
	var rj *rejection
	if errors.As(err, &rj) {
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		if !s.authed {
			return reject(reasonAuthTimeout, "%s: no publish command with a token within %s (rtmp.auth_timeout): %w",
				what, s.srv.cfg.AuthTimeout, err)
		}
		return reject(reasonHandshake, "%s: not done within %s (rtmp.handshake_timeout): %w",
			what, s.srv.cfg.HandshakeTimeout, err)
	}
	return reject(reasonHandshake, "%s: %w", what, err)
}

// publish reads the tracks, publishes them on the Hub and forwards every
// access unit until the connection ends.
func (s *session) publish(sc *gortmplib.ServerConn, name string) error {
	cfg := s.srv.cfg
	if err := s.setDeadline(time.Time{}); err != nil {
		return s.readFailed(err, reasonReadError, "clear deadline")
	}
	guard := &guardConn{Conn: sc, setReadDeadline: s.setReadDeadline, readTimeout: cfg.ReadTimeout, until: time.Now().Add(probeMaxTime)}
	s.bc.setBudget(probeBudget)
	r := &gortmplib.Reader{Conn: guard}
	if err := r.Initialize(); err != nil {
		err = s.readFailed(err, reasonProbe, "probe tracks")
		if reasonOf(err, "") == reasonUnsupportedCodec {
			s.refuseMedia(sc, err)
		}
		return err
	}
	src, err := selectTracks(r.Tracks())
	if err != nil {
		s.refuseMedia(sc, err)
		return err
	}
	s.bc.setBudget(-1)
	guard.until = time.Time{}

	pub, err := s.srv.hub.Publish(name, "rtmp", src.hubTracks(), s.kick)
	switch {
	case errors.Is(err, stream.ErrNoVideo):
		return reject(reasonNoVideo, "%w", err)
	case errors.Is(err, stream.ErrClosed):
		return fmt.Errorf("publish: %w", err)
	case err != nil:
		return reject(reasonPublishFailed, "publish: %w", err)
	}
	defer pub.Close()
	vt := src.videoTrack
	s.log.Info("rtmp publisher live", "width", vt.Width, "height", vt.Height, "fps", vt.FrameRate,
		"audio", src.audio != nil, "sample_rate", src.audioTrack.SampleRate, "channels", src.audioTrack.Channels)

	write := func(p *stream.Packet) {
		if pub.WritePacket(p) == nil {
			s.packets++
			s.bytes += uint64(len(p.Data))
		}
	}
	aw := newAnnexBWriter(src.h264.SPS, src.h264.PPS)
	r.OnDataH264(src.video, func(pts, dts time.Duration, au [][]byte) {
		data, key := aw.write(au)
		if data == nil {
			return
		}
		write(&stream.Packet{Kind: stream.KindVideo, PTS: pts, DTS: dts, Keyframe: key, Data: data})
	})
	if src.audio != nil {
		dur := src.audioFrameDuration()
		r.OnDataMPEG4Audio(src.audio, func(pts time.Duration, au []byte) {
			if len(au) == 0 {
				return
			}
			write(&stream.Packet{Kind: stream.KindAudio, PTS: pts, DTS: pts, Duration: dur, Keyframe: true,
				Data: append([]byte(nil), au...)})
		})
	}
	for {
		if err := r.Read(); err != nil {
			return s.readFailed(err, reasonReadError, "read")
		}
	}
}

// refuseMedia tells an accepted publisher why its media is refused.
func (s *session) refuseMedia(sc *gortmplib.ServerConn, err error) {
	msg := err.Error()
	var rj *rejection
	if errors.As(err, &rj) {
		msg = rj.err.Error()
	}
	_ = sendError(sc, codePublishFailed, msg)
	linger(s.nc)
}

// readFailed classifies the error that ended reading: a takeover, the peer
// leaving, a timeout, or fallback.
func (s *session) readFailed(err error, fallback, what string) error {
	if s.kicked.Load() {
		return errKicked
	}
	if s.isDraining() || errors.Is(err, errDraining) {
		return errDraining
	}
	var rj *rejection
	if errors.As(err, &rj) {
		return err
	}
	if errors.Is(err, io.EOF) {
		if fallback == reasonProbe {
			return reject(reasonProbe, "%s: connection closed before tracks were known: %w", what, err)
		}
		return nil
	}
	if s.srv.closing() {
		return fmt.Errorf("%s: %w", what, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return reject(reasonTimeout, "%s: no data for %s: %w", what, s.srv.cfg.ReadTimeout, err)
	}
	if errors.Is(err, ErrProbeTooLarge) {
		return reject(reasonProbe, "%s: %w", what, err)
	}
	if strings.Contains(err.Error(), "unsupported") {
		return reject(reasonUnsupportedCodec, "%s: %w", what, err)
	}
	return reject(fallback, "%s: %w", what, err)
}

// maxLogErr bounds an error logged from what a peer sent.
const maxLogErr = 512

// clip shortens s for a log line.
func clip(s string) string {
	if len(s) <= maxLogErr {
		return s
	}
	return s[:maxLogErr] + "…"
}

// redactURL returns the URL the peer asked for, without its query (which
// holds the token), for logs.
func redactURL(sc *gortmplib.ServerConn) string {
	if sc.URL == nil {
		return ""
	}
	u := *sc.URL
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}
