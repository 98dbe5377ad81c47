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
// committed, and a batch dropped meanwhile (the socket behind) is not
// reused before. The Commit that completes the batch at the head of the
// queue sends it, and those behind it that are complete. What the caller leaves in s.B goes out as it is, so a
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
	if s.bt == nil {
		return
	}
	c.mu.Lock()
	if c.commitLocked(s.bt, 1) {
		c.sendLocked(true)
	}
	c.mu.Unlock()
}

// commitLocked says that n slots of bt are written, and whether bt is
// now complete in the queue (to send when at its head). c.mu is held.
func (c *Conn) commitLocked(bt *batch, n int) bool {
	bt.writing -= n
	if bt.writing > 0 || bt == c.cur {
		return false
	}
	if bt.abandoned {
		bt.abandoned = false
		bt.reset()
		c.free = append(c.free, bt)
		return false
	}
	return true
}

// Slots is room for several packets to one address, from ReserveN to
// CommitN. The zero Slots is ready to use; kept and used again, it
// allocates nothing once grown.
type Slots struct {
	// B holds the packets, in the order reserved, each exactly as many
	// bytes as reserved: the writer sets every one of them before
	// CommitN.
	B    [][]byte
	held []held // the batches B lies in, in order, and how many slots of each
}

// held is how many slots of one batch a Slots holds.
type held struct {
	bt *batch
	n  int
}

// ReserveN takes room for len(sizes) packets to addr, one after the
// other, of sizes[i] bytes each, under one lock of the Conn: what
// Reserve does for each, in one step. The slots may lie in several
// batches, each of which waits for CommitN. On an error nothing is
// reserved: ErrTooLarge when a size is over MaxPacket, net.ErrClosed
// after Close.
func (c *Conn) ReserveN(s *Slots, addr net.Addr, sizes []int) error {
	s.B, s.held = s.B[:0], s.held[:0]
	for _, n := range sizes {
		if n < 0 || n > maxPacket {
			return ErrTooLarge
		}
	}
	if len(sizes) == 0 {
		return nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	gso := c.gso.Load()
	// Only a *net.UDPAddr is ever coalesced (batch.latest).
	ua, _ := addr.(*net.UDPAddr)
	run := gso && ua != nil
	for _, n := range sizes {
		bt := c.cur
		if k := len(s.held) - 1; k >= 0 && s.held[k].bt == bt {
			// The packet before went into this batch: its message is
			// the latest for addr.
			last := -1
			if run {
				last = bt.last
			}
			s.B = append(s.B, bt.takeIn(n, addr, gso, last))
			s.held[k].n++
		} else {
			s.B = append(s.B, bt.take(n, addr, gso))
			s.held = append(s.held, held{bt: bt, n: 1})
		}
		bt.writing++
		if bt.pkts == 1 {
			c.timer.Reset(c.interval)
		}
		if bt.pkts == c.size {
			c.queueLocked()
		}
	}
	c.mu.Unlock()
	return nil
}

// CommitN says that every slot of s, from ReserveN, is written: their
// batches may go out. s may then be used again.
func (c *Conn) CommitN(s *Slots) {
	if len(s.held) == 0 {
		return
	}
	c.mu.Lock()
	ready := false
	for _, h := range s.held {
		if c.commitLocked(h.bt, h.n) {
			ready = true
		}
	}
	if ready {
		c.sendLocked(true)
	}
	c.mu.Unlock()
	clear(s.held) // no batch kept from the free list's reuse
	s.held = s.held[:0]
}
