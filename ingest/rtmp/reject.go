package rtmp

import (
	"errors"
	"fmt"

	"github.com/mutstream/mutstream/metrics"
)

// Reasons a connection is refused or ends in error, the "reason" label of
// metrics.IngestRejected. The set is fixed so the metric stays small.
const (
	reasonHandshake        = "handshake"
	reasonBadURL           = "bad_url"
	reasonUnauthorized     = "unauthorized"
	reasonPlayRefused      = "play_refused"
	reasonUnsupportedCodec = "unsupported_codec"
	reasonNoVideo          = "no_video"
	reasonProbe            = "probe_error"
	reasonReadError        = "read_error"
	reasonTimeout          = "timeout"
	reasonTooManyConns     = "too_many_conns"
	reasonTooManyPerAddr   = "too_many_conns_per_addr"
	reasonAuthTimeout      = "auth_timeout"
	reasonOversize         = "oversize"
	reasonPublishFailed    = "publish_failed"
	reasonInternal         = "internal_error"
)

// Sentinel errors, wrapped by the errors a session ends with.
var (
	// ErrBadURL means the publish URL does not name APP/NAME.
	ErrBadURL = errors.New("bad publish URL")
	// ErrUnauthorized means the token does not allow publishing the name.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrPlayRefused means the peer asked to play; only publishing is served.
	ErrPlayRefused = errors.New("play is not supported, only publish")
	// ErrUnsupportedCodec means a track is neither H.264 video nor AAC audio.
	ErrUnsupportedCodec = errors.New("unsupported codec")
	// ErrNoVideo means the publisher sent no video track.
	ErrNoVideo = errors.New("no video track")
	// ErrProbeTooLarge means the publisher sent too much before its tracks
	// were known.
	ErrProbeTooLarge = errors.New("too much data before tracks were known")
	// ErrTooLarge means a message, a chunk size or the messages in assembly
	// are over the configured limits.
	ErrTooLarge = errors.New("over the RTMP size limits")
	// errDraining ends a session because the server is shutting down.
	errDraining = errors.New("server shutting down")
)

// rejection is an error that ends a session, with the reason it is counted
// under.
type rejection struct {
	reason string
	err    error
}

func (r *rejection) Error() string { return r.reason + ": " + r.err.Error() }

func (r *rejection) Unwrap() error { return r.err }

// reject wraps err (formatted like fmt.Errorf) with a counting reason.
func reject(reason, format string, args ...any) error {
	return &rejection{reason: reason, err: fmt.Errorf(format, args...)}
}

// reasonOf returns the reason err is counted under; fallback when err carries
// none.
func reasonOf(err error, fallback string) string {
	var r *rejection
	if errors.As(err, &r) {
		return r.reason
	}
	return fallback
}

// countRejected increments the rejection counter for reason.
func countRejected(reason string) {
	metrics.IngestRejected.WithLabelValues("rtmp", reason).Inc()
}
