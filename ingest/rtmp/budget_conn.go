package rtmp

import (
	"net"
	"sync/atomic"
)

// budgetConn is a net.Conn whose reads fail once a byte budget is spent. It
// bounds what a peer can make the library buffer before the session is
// established (the handshake, and the messages held while tracks are
// probed).
type budgetConn struct {
	net.Conn
	left atomic.Int64 // < 0: unlimited
}

// setBudget allows n more bytes to be read; n < 0 lifts the limit.
func (c *budgetConn) setBudget(n int64) { c.left.Store(n) }

// Read reads from the connection within the budget.
func (c *budgetConn) Read(p []byte) (int, error) {
	left := c.left.Load()
	if left == 0 {
		return 0, ErrProbeTooLarge
	}
	if left > 0 && int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.Conn.Read(p)
	if left > 0 {
		c.left.Add(-int64(n))
	}
	return n, err
}
