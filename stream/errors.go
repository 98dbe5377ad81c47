package stream

import "errors"

// Sentinel errors of the Hub.
var (
	// ErrNotFound means no stream of that name was ever published.
	ErrNotFound = errors.New("stream not found")
	// ErrNotLive means the stream is known but has no publisher now.
	ErrNotLive = errors.New("stream is not live")
	// ErrNoSuchRung means the stream has no rendition of that name.
	ErrNoSuchRung = errors.New("no such rung")
	// ErrNoSuchCodec means the stream offers no video feed in that codec.
	ErrNoSuchCodec = errors.New("stream offers no video in that codec")
	// ErrClosed means the publication or reader has been closed.
	ErrClosed = errors.New("closed")
	// ErrNoVideo means a publication offered no video track.
	ErrNoVideo = errors.New("no video track")
)
