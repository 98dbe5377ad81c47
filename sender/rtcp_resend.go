package sender

import (
	"sync/atomic"

	"github.com/pion/rtp"
)

// resendHdrs is where a stream's resend writes its header, kept so that
// answering a NACK allocates nothing: the header would escape to the
// writer below, and its extension list and the transport-wide number's
// storage with it. One resend holds it at a time; another at the same
// time makes its own.
type resendHdrs struct {
	busy atomic.Bool
	one  resendHdr
}

type resendHdr struct {
	h   rtp.Header
	ext [2]byte // the transport-wide sequence number, as written
}

// take returns a header to write a resend under; give it back with release.
func (r *resendHdrs) take() *resendHdr {
	if r.busy.CompareAndSwap(false, true) {
		return &r.one
	}
	return new(resendHdr)
}

// release gives back a header taken.
func (r *resendHdrs) release(h *resendHdr) {
	if h == &r.one {
		r.busy.Store(false)
	}
}
