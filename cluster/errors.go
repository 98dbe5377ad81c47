package cluster

import "errors"

// Sentinel errors.
var (
	// ErrUnavailable wraps a failure to reach the directory (Redis): the
	// caller should answer 503 with a Retry-After.
	ErrUnavailable = errors.New("cluster directory unavailable")
	// ErrNoOrigin is the directory's answer for a stream that no node
	// publishes now.
	ErrNoOrigin = errors.New("no origin for the stream")
	// ErrClosed is returned once the node has been closed.
	ErrClosed = errors.New("cluster node closed")
)
