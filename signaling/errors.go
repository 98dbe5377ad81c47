package signaling

import (
	"errors"
	"net/http"
)

// offerError is a refusal of an offer with the HTTP status that says why.
type offerError struct {
	status int
	msg    string
}

func (e *offerError) Error() string { return e.msg }

// Sentinel errors of offer handling.
var (
	// ErrSDPTooLarge means the body exceeded MaxSDPSize.
	ErrSDPTooLarge = &offerError{http.StatusRequestEntityTooLarge, "SDP offer larger than 64 KiB"}
	// ErrEmptyOffer means the body was empty.
	ErrEmptyOffer = &offerError{http.StatusBadRequest, "empty SDP offer"}
	// ErrTooManyViewers means MaxViewers sessions are live.
	ErrTooManyViewers = &offerError{http.StatusServiceUnavailable, "viewer limit reached, try again later"}
	// ErrTooManyPublishers means MaxPublishers WHIP sessions are live.
	ErrTooManyPublishers = &offerError{http.StatusServiceUnavailable, "publisher limit reached, try again later"}
)

// statusOf maps an error to its HTTP status, 500 when unknown.
func statusOf(err error) int {
	var oe *offerError
	if errors.As(err, &oe) {
		return oe.status
	}
	return http.StatusInternalServerError
}
