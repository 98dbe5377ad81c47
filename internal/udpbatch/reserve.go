package udpbatch

import (
	"errors"
	"net"
)

// MaxPacket is the largest packet a batch holds: a larger one is sent at
// once by WriteTo, and Reserve refuses it.
const MaxPacket = maxPacket

// ErrTooLarge is Reserve's answer for a packet over MaxPacket bytes.
var ErrTooLarge = errors.New("udpbatch: packet larger than a batch slot")

// Slot is room for one packet in a batch, from Reserve to Commit.
type Slot struct {
	// B is the packet, exactly as many bytes as reserved: the writer
	// sets every one of them before Commit.
	B  []byte
	bt *batch
}

// Reserve takes room for an n-byte packet to addr in the batch being
// filled, in the order of the Conn's writes (WriteTo and Reserve alike),
// so that a packet can be built where sendmmsg reads it, with no copy.
// The caller writes s.B without any lock of the Conn held, then calls
// Commit, at once and exactly once, whatever happens: the batch does not
// go out (so Close does not return) before every slot in it is
// committed, and a batch dropped meanwhile (the flusher behind) is not
// reused before. What the caller leaves in s.B goes out as it is, so a
// packet that can fail to be built is built, or checked, before Reserve.
//
// Writing outside the lock is the point: encrypting a 1200-byte packet
// takes about a microsecond, which under the lock every other writer of
// the port would wait for.
func (c *Conn) Reserve(addr net.Addr, n int) (Slot, error) {
	if n < 0 || n > maxPacket {
		return Slot{}, ErrTooLarge
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return Slot{}, net.ErrClosed
	}
	bt := c.cur
	b := bt.take(n, addr, c.gso.Load())
	bt.writing++
	if bt.pkts == 1 {
		c.timer.Reset(c.interval)
	}
	if bt.pkts == c.size {
		c.queueLocked()
	}
	return Slot{B: b, bt: bt}, nil
}

// Commit says that s, from Reserve, is written: its batch may go out.
func (c *Conn) Commit(s Slot) {
	bt := s.bt
	if bt == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	bt.writing--
	if bt.writing > 0 || bt == c.cur {
		return
	}
	if bt.abandoned {
		bt.abandoned = false
		bt.reset()
		c.free = append(c.free, bt)
		return
	}
	c.committed.Broadcast() // the flusher may wait for bt
}
