// Package udpbatch sends a UDP socket's packets in batches, one sendmmsg
// system call per batch (Linux; elsewhere x/net sends them one by one).
//
// A batch goes out when it holds Size packets or when its first packet
// has waited Interval. No timer runs while nothing is queued, so an idle
// socket costs nothing. Batches go out in the order they were filled, by
// one flushing goroutine, so the packets of each flow keep their order.
package udpbatch

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// maxPacket is the largest packet queued; a larger one is sent at once.
const maxPacket = 1500

// maxQueued bounds the batches waiting for the flusher: past it, packets
// are dropped (and counted), as a full socket buffer would, rather than
// block every writer.
const maxQueued = 64

// Conn is a net.PacketConn whose writes are batched. Reads pass through.
type Conn struct {
	net.PacketConn
	bc       *ipv4.PacketConn
	size     int
	interval time.Duration

	mu     sync.Mutex
	cur    *batch   // being filled
	queue  []*batch // full or due, in order, for the flusher
	free   []*batch
	timer  *time.Timer
	closed bool

	ready   chan struct{} // a batch is queued
	done    chan struct{} // closed by Close: the flusher drains and ends
	stopped chan struct{} // closed by the flusher when it has ended

	dropped atomic.Uint64
	failed  atomic.Uint64
	onDrop  func(reason string, n int) // see SetOnDrop
}

// SetOnDrop has fn told of every packet dropped ("queue") or refused
// ("refused"), e.g. to count it; fn must not block. Call it before the
// first write.
func (c *Conn) SetOnDrop(fn func(reason string, n int)) { c.onDrop = fn }

func (c *Conn) drop(reason string, n int) {
	if c.onDrop != nil {
		c.onDrop(reason, n)
	}
}

type batch struct {
	msgs []ipv4.Message
	n    int
}

func newBatch(size int) *batch {
	b := &batch{msgs: make([]ipv4.Message, size)}
	for i := range b.msgs {
		b.msgs[i].Buffers = [][]byte{make([]byte, 0, maxPacket)}
	}
	return b
}

// New wraps conn: up to size packets a batch, none held longer than
// interval. Close closes conn.
func New(conn net.PacketConn, size int, interval time.Duration) *Conn {
	c := &Conn{
		PacketConn: conn,
		bc:         ipv4.NewPacketConn(conn),
		size:       max(size, 1),
		interval:   interval,
		ready:      make(chan struct{}, 1),
		done:       make(chan struct{}),
		stopped:    make(chan struct{}),
	}
	c.cur = newBatch(c.size)
	c.timer = time.AfterFunc(time.Hour, c.due)
	c.timer.Stop()
	go c.flusher()
	return c
}

// WriteTo queues a copy of b for addr.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if len(b) > maxPacket {
		return c.PacketConn.WriteTo(b, addr)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	bt := c.cur
	m := &bt.msgs[bt.n]
	m.Buffers[0] = append(m.Buffers[0][:0], b...)
	m.Addr = addr
	bt.n++
	if bt.n == 1 {
		c.timer.Reset(c.interval)
	}
	if bt.n == c.size {
		c.queueLocked()
	}
	c.mu.Unlock()
	return len(b), nil
}

// due sends the batch being filled: its first packet has waited long
// enough.
func (c *Conn) due() {
	c.mu.Lock()
	if c.cur.n > 0 && !c.closed {
		c.queueLocked()
	}
	c.mu.Unlock()
}

// queueLocked hands the batch being filled to the flusher and starts an
// empty one. c.mu is held.
func (c *Conn) queueLocked() {
	c.timer.Stop()
	if len(c.queue) >= maxQueued {
		c.dropped.Add(uint64(c.cur.n))
		c.drop("queue", c.cur.n)
		c.cur.n = 0
		return
	}
	c.queue = append(c.queue, c.cur)
	if n := len(c.free); n > 0 {
		c.cur, c.free = c.free[n-1], c.free[:n-1]
	} else {
		c.cur = newBatch(c.size)
	}
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

// flusher sends the queued batches in order until Close.
func (c *Conn) flusher() {
	defer close(c.stopped)
	for {
		select {
		case <-c.ready:
		case <-c.done:
			c.drain()
			return
		}
		c.drain()
	}
}

// drain sends every queued batch.
func (c *Conn) drain() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return
		}
		bt := c.queue[0]
		c.queue = c.queue[1:]
		c.mu.Unlock()
		c.send(bt)
		c.mu.Lock()
		bt.n = 0
		c.free = append(c.free, bt)
		c.mu.Unlock()
	}
}

// send writes one batch; a packet the system refuses (an unreachable
// address) is skipped and counted, and the rest still go.
func (c *Conn) send(bt *batch) {
	msgs := bt.msgs[:bt.n]
	for len(msgs) > 0 {
		n, err := c.bc.WriteBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			c.failed.Add(1)
			c.drop("refused", 1)
			n = max(n, 1)
		}
		msgs = msgs[n:]
	}
}

// Dropped returns the packets dropped because the flusher fell behind.
func (c *Conn) Dropped() uint64 { return c.dropped.Load() }

// Failed returns the packets the system refused to send.
func (c *Conn) Failed() uint64 { return c.failed.Load() }

// Close sends what is queued, stops the flusher and closes the socket.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	if c.cur.n > 0 {
		c.queueLocked()
	}
	c.closed = true
	c.timer.Stop()
	c.mu.Unlock()
	close(c.done)
	<-c.stopped
	return c.PacketConn.Close()
}
