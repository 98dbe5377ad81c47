// Package udpbatch sends a UDP socket's packets in batches, one sendmmsg
// system call per batch (Linux; elsewhere x/net sends them one by one).
//
// A batch goes out when it holds Size packets or when its first packet
// has waited Interval. No timer runs while nothing is queued, so an idle
// socket costs nothing. Batches go out in the order they were filled, one
// sendmmsg at a time, so the packets of each flow keep their order. The
// goroutine that completes the batch at the head of the queue (the write
// that fills it, the commit of its last slot, the timer) sends it itself,
// with no other goroutine woken; only a socket that takes no more for now
// hands the queue to a flushing goroutine, which waits until it does.
//
// With UDP GSO (Linux 4.18 and later, see WithGSO), the packets that one
// destination is sent back to back are coalesced into one message of
// equal-size segments (the last may be shorter), which the kernel cuts
// into the same datagrams for less work per packet. A kernel that
// refuses such a message turns GSO off for the Conn; its packets still
// go, one by one.
//
// A socket opened with Listen sends through a quiet twin on the same
// port that the runtime's poller does not watch (see WithQuiet), so
// that the Conn's own sends wake no thread.
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

// maxQueued bounds the batches queued behind the one at the head (being
// written, or waiting for the socket): past it, packets are dropped (and
// counted), as a full socket buffer would, rather than block every
// writer.
const maxQueued = 64

// Conn is a net.PacketConn whose writes are batched. Reads pass through.
type Conn struct {
	net.PacketConn
	bc       *ipv4.PacketConn
	size     int
	interval time.Duration

	mu     sync.Mutex
	cur    *batch   // being filled
	queue  []*batch // full or due, in order, to send
	free   []*batch
	timer  *time.Timer
	closed bool
	// sending says that a goroutine sends the queue (drainLocked): no
	// other sends meanwhile. handoff says that it stopped at a socket
	// that took no more and left the rest to the flusher, sending still
	// set.
	sending bool
	handoff bool
	// committed is signalled (under mu) when a sender is done: Close
	// waits for the queue to empty.
	committed sync.Cond

	ready   chan struct{} // the queue is handed to the flusher
	done    chan struct{} // closed by Close: the flusher drains and ends
	stopped chan struct{} // closed by the flusher when it has ended

	dropped atomic.Uint64
	failed  atomic.Uint64
	onDrop  func(reason string, n int) // see SetOnDrop

	wantGSO  bool        // asked for (WithGSO)
	gso      atomic.Bool // on: WriteTo coalesces; turned off once for good
	onGSOOff func(reason string, err error)
	// wantQuiet: send from the quiet socket where conn allows it
	// (WithQuiet); onQuietOff is told why it could not.
	wantQuiet  bool
	onQuietOff func(err error)
	write      writer         // sendmmsg; a test's failing one
	raw        *rawWriter     // the sendmmsg below write, where there is one
	split      []ipv4.Message // the flusher's: a refused GSO message's packets
	hooks      flusherHooks   // tests only
	flushed    atomic.Uint64  // packets the flusher is done with (tests)
}

// flusherHooks let tests and benchmarks follow the senders.
type flusherHooks struct {
	start   func() // in the flusher, before its first batch
	drained func() // under mu, each time a sender leaves the queue empty
	waiting func() // under mu, when the batch at the head waits for a commit
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
		wantQuiet:  true,
	}
	c.committed.L = &c.mu
	c.write = func(ms []ipv4.Message) (int, error) { return c.bc.WriteBatch(ms, 0) }
	if c.raw = newRawWriter(conn, c.write); c.raw != nil {
		c.write = c.raw.write
	}
	for _, o := range opts {
		o(c)
	}
	if c.raw != nil && c.wantQuiet {
		fd, err := openQuiet(conn)
		c.raw.quiet = fd
		if err != nil && c.onQuietOff != nil {
			c.onQuietOff(err)
		}
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
		c.sendLocked(true)
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
		c.sendLocked(true)
	}
	c.mu.Unlock()
}

// queueLocked queues the batch being filled and starts an empty one.
// c.mu is held.
func (c *Conn) queueLocked() {
	c.timer.Stop()
	if len(c.queue) > maxQueued {
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

// sendLocked sends the queued batches, in order, as long as the one at
// the head is complete, unless another goroutine is at it. try: a socket
// that takes no more for now hands the rest to the flusher rather than
// wait. c.mu is held, and released while a batch is sent.
func (c *Conn) sendLocked(try bool) {
	if c.sending || len(c.queue) == 0 {
		return
	}
	c.sending = true
	c.drainLocked(try)
}

// drainLocked is sendLocked's loop; c.sending is set, by the caller.
func (c *Conn) drainLocked(try bool) {
	for len(c.queue) > 0 {
		bt := c.queue[0]
		if bt.writing > 0 { // its last commit sends it
			if c.hooks.waiting != nil {
				c.hooks.waiting()
			}
			break
		}
		c.popLocked()
		c.mu.Unlock()
		done := c.send(bt, try)
		c.mu.Lock()
		if !done {
			c.queue = append(c.queue, nil)
			copy(c.queue[1:], c.queue)
			c.queue[0] = bt
			c.handoff = true
			select {
			case c.ready <- struct{}{}:
			default:
			}
			return
		}
		c.flushed.Add(uint64(bt.pkts))
		bt.reset()
		c.free = append(c.free, bt)
	}
	c.sending = false
	if len(c.queue) == 0 && c.hooks.drained != nil {
		c.hooks.drained()
	}
	c.committed.Broadcast()
}

// flusher sends the queue when a sender hands it over (the socket took
// no more), waiting for the socket, until Close.
func (c *Conn) flusher() {
	defer close(c.stopped)
	if c.hooks.start != nil {
		c.hooks.start()
	}
	for {
		select {
		case <-c.ready:
		case <-c.done:
			return
		}
		c.mu.Lock()
		if c.handoff {
			c.handoff = false
			c.drainLocked(false)
		}
		c.mu.Unlock()
	}
}

// Dropped returns the packets dropped because the socket fell behind.
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
	// Every batch queued goes, once its slots are committed.
	for len(c.queue) > 0 || c.sending {
		if !c.sending && c.queue[0].writing == 0 {
			c.sending = true
			c.drainLocked(false)
			continue
		}
		if c.hooks.waiting != nil {
			c.hooks.waiting()
		}
		c.committed.Wait()
	}
	c.mu.Unlock()
	close(c.done)
	<-c.stopped
	if c.raw != nil {
		c.raw.close()
	}
	return c.PacketConn.Close()
}
