package signaling

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
)

// orderedMux wraps pion's UDP mux so that a session's packets reach it in
// the order they arrived.
//
// pion/ice's UDPMuxDefault keeps one muxed connection per ufrag and address
// family, and hands a reference to it to every local host candidate of
// that family (127.0.0.1 and the LAN address, say). Each candidate runs its
// own read loop, which reads a packet and then hands it to the agent; two
// loops on one in-order queue pass packets on out of order whenever one is
// descheduled between the read and the hand-over (seen as
// mediad_whip_packets_recovered_total on a publisher that sent in order).
// orderedMux gives the connections of one ufrag and family a single turn:
// a connection takes it to read and keeps it until its loop comes back for
// the next packet, which is when the previous one has been handled. So at
// most one packet of a session is between the socket and the agent.
type orderedMux struct {
	ice.UDPMux

	mu     sync.Mutex
	groups map[groupKey]*readGroup
}

type groupKey struct {
	ufrag string
	ipv6  bool
}

// readGroup is the turn the connections of one ufrag and family share.
type readGroup struct {
	turn chan struct{} // holds a token while a connection has the turn
	refs int           // guarded by orderedMux.mu
}

func newOrderedMux(m ice.UDPMux) *orderedMux {
	return &orderedMux{UDPMux: m, groups: map[groupKey]*readGroup{}}
}

// GetConn returns pion's muxed connection for ufrag and addr's family,
// read in turn with the other connections of the same ufrag and family.
func (m *orderedMux) GetConn(ufrag string, addr net.Addr) (net.PacketConn, error) {
	c, err := m.UDPMux.GetConn(ufrag, addr)
	if err != nil {
		return nil, err
	}
	key := groupKey{ufrag: ufrag}
	if ua, ok := addr.(*net.UDPAddr); ok && ua.IP.To4() == nil {
		key.ipv6 = true
	}
	m.mu.Lock()
	g := m.groups[key]
	if g == nil {
		g = &readGroup{turn: make(chan struct{}, 1)}
		m.groups[key] = g
	}
	g.refs++
	m.mu.Unlock()
	return &orderedConn{PacketConn: c, mux: m, key: key, g: g, closed: make(chan struct{}), wake: make(chan struct{})}, nil
}

func (m *orderedMux) drop(key groupKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g := m.groups[key]; g != nil {
		if g.refs--; g.refs <= 0 {
			delete(m.groups, key)
		}
	}
}

// orderedConn is one candidate's reference to a muxed connection.
type orderedConn struct {
	net.PacketConn
	mux *orderedMux
	key groupKey
	g   *readGroup

	holding   atomic.Bool // this connection has the group's turn
	closeOnce sync.Once
	closed    chan struct{}

	dlMu     sync.Mutex
	deadline time.Time
	wake     chan struct{} // closed and replaced when the deadline changes
}

// ReadFrom gives up the turn (the previous packet has been handled),
// waits for it, and reads the next packet, keeping the turn.
func (c *orderedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.release()
	if err := c.take(); err != nil {
		return 0, nil, err
	}
	n, addr, err := c.PacketConn.ReadFrom(b)
	if err != nil {
		c.release()
	}
	return n, addr, err
}

func (c *orderedConn) take() error {
	for {
		c.dlMu.Lock()
		dl, wake := c.deadline, c.wake
		c.dlMu.Unlock()
		var expire <-chan time.Time
		var timer *time.Timer
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return os.ErrDeadlineExceeded
			}
			timer = time.NewTimer(d)
			expire = timer.C
		}
		err, again := c.wait(expire, wake)
		if timer != nil {
			timer.Stop()
		}
		if !again {
			return err
		}
	}
}

// wait waits for the turn, the close, the deadline or its change (again).
func (c *orderedConn) wait(expire <-chan time.Time, wake <-chan struct{}) (err error, again bool) {
	select {
	case c.g.turn <- struct{}{}:
		c.holding.Store(true)
		return nil, false
	case <-c.closed:
		return io.ErrClosedPipe, false
	case <-expire:
		return os.ErrDeadlineExceeded, false
	case <-wake:
		return nil, true
	}
}

func (c *orderedConn) release() {
	if c.holding.CompareAndSwap(true, false) {
		<-c.g.turn
	}
}

func (c *orderedConn) setReadDeadline(t time.Time) {
	c.dlMu.Lock()
	c.deadline = t
	close(c.wake)
	c.wake = make(chan struct{})
	c.dlMu.Unlock()
}

// SetReadDeadline applies to the wait for the turn and to the read.
func (c *orderedConn) SetReadDeadline(t time.Time) error {
	c.setReadDeadline(t)
	return c.PacketConn.SetReadDeadline(t)
}

// SetDeadline applies to the wait for the turn, the read and writes.
func (c *orderedConn) SetDeadline(t time.Time) error {
	c.setReadDeadline(t)
	return c.PacketConn.SetDeadline(t)
}

// Close gives up the turn and the reference to the muxed connection.
func (c *orderedConn) Close() error {
	err := io.ErrClosedPipe
	c.closeOnce.Do(func() {
		close(c.closed)
		err = c.PacketConn.Close()
		c.release()
		c.mux.drop(c.key)
	})
	return err
}
