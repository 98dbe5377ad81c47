package rtmp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
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
	nc     net.Conn
	bc     *budgetConn
	log    *slog.Logger
	kicked atomic.Bool

	packets uint64
	bytes   uint64
}

func newSession(srv *Server, nc net.Conn) *session {
	s := &session{
		srv: srv,
		nc:  nc,
		bc:  &budgetConn{Conn: nc},
		log: srv.log.With("remote", nc.RemoteAddr().String()),
	}
	s.bc.setBudget(handshakeBudget)
	return s
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
	if err := s.nc.SetDeadline(time.Now().Add(cfg.HandshakeTimeout)); err != nil {
		return reject(reasonHandshake, "set deadline: %w", err)
	}
	sc := &gortmplib.ServerConn{RW: s.bc}
	if err := sc.Initialize(); err != nil {
		return reject(reasonHandshake, "handshake or connect: %w", err)
	}
	if err := sc.AcceptConn(); err != nil {
		return reject(reasonHandshake, "waiting for publish: %w", err)
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
	if s.srv.auth == nil || !s.srv.auth(target.name, target.token) {
		_ = sendError(sc, codePublishUnauthorized, "invalid or missing token for this stream")
		linger(s.nc)
		return reject(reasonUnauthorized, "%w: stream %q", ErrUnauthorized, target.name)
	}
	if err := sc.AcceptAction(); err != nil {
		return reject(reasonHandshake, "accept publish: %w", err)
	}
	return s.publish(sc, target.name)
}

// publish reads the tracks, publishes them on the Hub and forwards every
// access unit until the connection ends.
func (s *session) publish(sc *gortmplib.ServerConn, name string) error {
	cfg := s.srv.cfg
	if err := s.nc.SetDeadline(time.Time{}); err != nil {
		return reject(reasonReadError, "clear deadline: %w", err)
	}
	guard := &guardConn{Conn: sc, nc: s.nc, readTimeout: cfg.ReadTimeout, until: time.Now().Add(probeMaxTime)}
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
