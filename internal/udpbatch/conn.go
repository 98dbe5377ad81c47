// Package udpbatch sends a UDP socket's packets in batches, one sendmmsg
// system call per batch (Linux; elsewhere x/net sends them one by one).
//
// A batch goes out when it holds Size packets or when its first packet
// has waited Interval. No timer runs while nothing is queued, so an idle
// socket costs nothing. Batches go out in the order they were filled, by
// one flushing goroutine, so the packets of each flow keep their order.
//
// With UDP GSO (Linux 4.18 and later, see WithGSO), the packets that one
// destination is sent back to back are coalesced into one message of
// equal-size segments (the last may be shorter), which the kernel cuts
// into the same datagrams for less work per packet. A kernel that
// refuses such a message turns GSO off for the Conn; its packets still
// go, one by one.
package udpbatch

import (
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
	// committed is signalled (under mu) when the last slot being written
	// in a queued batch is committed: the flusher waits for it.
	committed sync.Cond

	ready   chan struct{} // a batch is queued
	done    chan struct{} // closed by Close: the flusher drains and ends
	stopped chan struct{} // closed by the flusher when it has ended

	dropped atomic.Uint64
	failed  atomic.Uint64
	onDrop  func(reason string, n int) // see SetOnDrop

	wantGSO  bool        // asked for (WithGSO)
	gso      atomic.Bool // on: WriteTo coalesces; turned off once for good
	onGSOOff func(reason string, err error)
	write    writer         // sendmmsg; a test's failing one
	split    []ipv4.Message // the flusher's: a refused GSO message's packets
	hooks    flusherHooks   // tests only
	flushed  atomic.Uint64  // packets the flusher is done with (tests)
}

// flusherHooks let a benchmark pin and measure the flushing goroutine.
type flusherHooks struct {
	start   func() // in the flusher, before its first batch
	drained func() // in the flusher, each time the queue is empty
	waiting func() // in the flusher, under mu, before it waits for a commit
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

// New wraps conn: up to size packets a batch, none held longer than
// interval. Close closes conn.
func New(conn net.PacketConn, size int, interval time.Duration, opts ...Option) *Conn {
	c := &Conn{
		PacketConn: conn,
		bc:         ipv4.NewPacketConn(conn),
		size:       max(size, 1),
		interval:   interval,
		ready:      make(chan struct{}, 1),
		done:       make(chan struct{}),
		stopped:    make(chan struct{}),
		wantGSO:    true,
	}
	c.committed.L = &c.mu
	c.write = func(ms []ipv4.Message) (int, error) { return c.bc.WriteBatch(ms, 0) }
	for _, o := range opts {
		o(c)
	}
	if c.wantGSO {
		if gsoSupported(conn) {
			c.gso.Store(true)
		} else if c.onGSOOff != nil {
			c.onGSOOff("unsupported", nil)
		}
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
	bt.add(b, addr, c.gso.Load())
	if bt.pkts == 1 {
		c.timer.Reset(c.interval)
	}
	if bt.pkts == c.size {
		c.queueLocked()
	}
	c.mu.Unlock()
	return len(b), nil
}

// due sends the batch being filled: its first packet has waited long
// enough.
func (c *Conn) due() {
	c.mu.Lock()
	if c.cur.pkts > 0 && !c.closed {
		c.queueLocked()
	}
	c.mu.Unlock()
}

// queueLocked hands the batch being filled to the flusher and starts an
// empty one. c.mu is held.
func (c *Conn) queueLocked() {
	c.timer.Stop()
	if len(c.queue) >= maxQueued {
		c.dropped.Add(uint64(c.cur.pkts))
		c.drop("queue", c.cur.pkts)
		if c.cur.writing == 0 {
			c.cur.reset()
			return
		}
		// Slots of it are still being written: it cannot be reused
		// until they are committed (Commit frees it).
		c.cur.abandoned = true
		c.nextBatchLocked()
		return
	}
	c.queue = append(c.queue, c.cur)
	c.nextBatchLocked()
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

// nextBatchLocked starts an empty batch to fill. c.mu is held.
func (c *Conn) nextBatchLocked() {
	if n := len(c.free); n > 0 {
		c.cur, c.free = c.free[n-1], c.free[:n-1]
	} else {
		c.cur = newBatch(c.size)
	}
}

// popLocked takes the batch at the head of the queue; the queue keeps
// its storage (re-slicing it forward would have append allocate anew).
// c.mu is held.
func (c *Conn) popLocked() *batch {
	bt := c.queue[0]
	n := copy(c.queue, c.queue[1:])
	c.queue[n] = nil
	c.queue = c.queue[:n]
	return bt
}

// flusher sends the queued batches in order until Close.
func (c *Conn) flusher() {
	defer close(c.stopped)
	if c.hooks.start != nil {
		c.hooks.start()
	}
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
			if c.hooks.drained != nil {
				c.hooks.drained()
			}
			return
		}
		bt := c.popLocked()
		for bt.writing > 0 {
			if c.hooks.waiting != nil {
				c.hooks.waiting()
			}
			c.committed.Wait()
		}
		c.mu.Unlock()
		c.send(bt)
		c.flushed.Add(uint64(bt.pkts))
		c.mu.Lock()
		bt.reset()
		c.free = append(c.free, bt)
		c.mu.Unlock()
	}
}

// Dropped returns the packets dropped because the flusher fell behind.
func (c *Conn) Dropped() uint64 { return c.dropped.Load() }

// Failed returns the packets the system refused to send.
func (c *Conn) Failed() uint64 { return c.failed.Load() }

// GSO reports whether packets are coalesced into UDP GSO messages now.
func (c *Conn) GSO() bool { return c.gso.Load() }

// Close sends what is queued, stops the flusher and closes the socket.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	if c.cur.pkts > 0 {
		c.queueLocked()
	}
	c.closed = true
	c.timer.Stop()
	c.mu.Unlock()
	close(c.done)
	<-c.stopped
	return c.PacketConn.Close()
}
