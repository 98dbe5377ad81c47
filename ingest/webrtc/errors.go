package webrtc

import "errors"

// Sentinel errors, wrapped with detail where they are returned.
var (
	// ErrConfig means a configuration value is out of range.
	ErrConfig = errors.New("invalid WHIP ingest configuration")
	// ErrClosed means Close ended the publisher.
	ErrClosed = errors.New("WHIP publisher closed")
	// ErrKicked means another publisher took the stream over.
	ErrKicked = errors.New("WHIP publisher taken over by another publisher")
	// ErrTrackEnded means the publisher's video track stopped (the
	// PeerConnection closed or the track was removed).
	ErrTrackEnded = errors.New("WHIP video track ended")
	// ErrStartTimeout means no video track arrived in time.
	ErrStartTimeout = errors.New("no video track from the WHIP publisher in time")
	// ErrConnectionEnded means the PeerConnection failed or was closed.
	ErrConnectionEnded = errors.New("WHIP connection ended")
	// ErrUnsupportedCodec means a track carries a codec WHIP ingest does not take.
	ErrUnsupportedCodec = errors.New("unsupported codec")

	errEmptyPayload  = errors.New("empty RTP payload")
	errBadPayload    = errors.New("malformed RTP payload")
	errFrameTooLarge = errors.New("frame too large")
)
