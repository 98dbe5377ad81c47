package udpbatch

import (
	"errors"
	"net"

	"golang.org/x/net/ipv4"
)

// errWouldBlock is a writer's answer, when told to try, for a socket
// that takes no more for now.
var errWouldBlock = errors.New("udpbatch: socket full")

// send writes one batch, from bt.off on, and says whether it is done. A
// packet the system refuses (an unreachable address) is skipped and
// counted, and the rest still go. A GSO message the system refuses goes
// out again as one datagram per segment; if those go, GSO was the
// trouble and is turned off for good. try: a socket that takes no more
// for now stops it there (bt.off says where), rather than wait.
func (c *Conn) send(bt *batch, try bool) bool {
	c.setTry(try)
	defer c.setTry(false)
	msgs := bt.msgs[bt.off:bt.n]
	for len(msgs) > 0 {
		gso := c.gso.Load()
		if !gso && len(msgs[0].Buffers) > 1 {
			// Coalesced before GSO went off: its segments go one by one.
			c.sendSplit(&msgs[0], nil)
			msgs = msgs[1:]
			continue
		}
		run := msgs
		if !gso {
			run = singles(msgs)
		}
		n, err := c.write(run)
		if err == nil {
			msgs = msgs[max(n, 1):]
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return true
		}
		if errors.Is(err, errWouldBlock) {
			bt.off = bt.n - len(msgs) + max(n, 0)
			return false
		}
		// sendmmsg fails only when the first message it tried failed.
		n = max(n, 0)
		if n >= len(run) {
			n = len(run) - 1
		}
		if m := &msgs[n]; len(m.Buffers) > 1 {
			c.sendSplit(m, err)
		} else {
			c.refused(1)
		}
		msgs = msgs[n+1:]
	}
	return true
}

// singles returns the leading messages of msgs that hold one packet
// each.
func singles(msgs []ipv4.Message) []ipv4.Message {
	for i := range msgs {
		if len(msgs[i].Buffers) > 1 {
			return msgs[:i]
		}
	}
	return msgs
}

// sendSplit sends each segment of the GSO message m as its own
// datagram. cause is the error the system gave for m, if it refused it:
// when it is a GSO refusal and a segment then goes alone, GSO is turned
// off.
func (c *Conn) sendSplit(m *ipv4.Message, cause error) {
	c.setTry(false) // rare: the flow's order is kept by waiting here
	for len(c.split) < len(m.Buffers) {
		c.split = append(c.split, ipv4.Message{Buffers: make([][]byte, 1)})
	}
	parts := c.split[:len(m.Buffers)]
	for i, b := range m.Buffers {
		parts[i].Buffers[0] = b
		parts[i].Addr = m.Addr
	}
	sent := 0
	for len(parts) > 0 {
		n, err := c.write(parts)
		if err == nil {
			n = max(n, 1)
			sent += n
			parts = parts[n:]
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			break
		}
		n = min(max(n, 0), len(parts)-1)
		sent += n
		c.refused(1)
		parts = parts[n+1:]
	}
	for i := range m.Buffers {
		c.split[i].Buffers[0] = nil
		c.split[i].Addr = nil
	}
	if cause != nil && sent > 0 && gsoRefusal(cause) {
		c.gsoOff(cause)
	}
}

// refused counts n packets the system refused.
func (c *Conn) refused(n int) {
	c.failed.Add(uint64(n))
	c.drop("refused", n)
}

// gsoOff turns GSO off for good, and says so once.
func (c *Conn) gsoOff(cause error) {
	if c.gso.CompareAndSwap(true, false) && c.onGSOOff != nil {
		c.onGSOOff("refused", cause)
	}
}

// setTry tells the writer whether a full socket stops it (errWouldBlock)
// or makes it wait. Only the goroutine sending calls it.
func (c *Conn) setTry(try bool) {
	if c.raw != nil {
		c.raw.try = try
	}
}
