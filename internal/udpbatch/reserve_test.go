package udpbatch

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// withWaiting has the flusher signal on the returned channel each time
// it waits for a slot to be committed.
func withWaiting() (Option, <-chan struct{}) {
	ch := make(chan struct{}, 16)
	return func(c *Conn) {
		c.hooks.waiting = func() {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}, ch
}

// waitingConn is a Conn of size-packet batches with no interval, on a
// new socket, whose flusher says when it waits for a slot.
func waitingConn(t *testing.T, size int) (*Conn, <-chan struct{}) {
	t.Helper()
	wait, waiting := withWaiting()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return New(conn, size, time.Hour, wait), waiting
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never happened", what)
	}
}

// reserve writes packet i of size bytes to addr through Reserve and
// Commit.
func reserve(t *testing.T, c *Conn, addr net.Addr, i uint32, size int) {
	t.Helper()
	s, err := c.Reserve(addr, size)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.B) != size {
		t.Fatalf("slot of %d bytes, want %d", len(s.B), size)
	}
	copy(s.B, payload(i, size))
	c.Commit(s)
}

// Packets written through Reserve and through WriteTo, interleaved, go
// out in the order they were written, each byte for byte.
func TestReserveKeepsOrderWithWriteTo(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	c := sender(t, "udp4", "127.0.0.1:0", 8)
	defer c.Close()
	const rounds, per = 5, 100
	for r := uint32(0); r < rounds; r++ {
		var sizes []int
		for i := r * per; i < (r+1)*per; i++ {
			size := 100 + int(i*37%1300)
			sizes = append(sizes, size)
			if i%3 == 0 {
				send(t, c, rx.LocalAddr(), i, size)
			} else {
				reserve(t, c, rx.LocalAddr(), i, size)
			}
		}
		readExpect(t, rx, r*per, sizes...)
	}
}

// A batch that is full while one of its slots is still being written
// waits for that slot: the packet goes out as written, not as the slot
// was when the batch filled, and in its place.
func TestReserveBatchWaitsForCommit(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	c, waiting := waitingConn(t, 4)
	defer c.Close()
	s, err := c.Reserve(rx.LocalAddr(), 500)
	if err != nil {
		t.Fatal(err)
	}
	send(t, c, rx.LocalAddr(), 1, 300, 300, 300) // fills the batch
	waitFor(t, waiting, "the flusher waiting for the slot")
	copy(s.B, payload(0, 500))
	c.Commit(s)
	readExpect(t, rx, 0, 500, 300, 300, 300)
}

// The packets one destination is sent back to back through Reserve are
// coalesced into one GSO message as those written by WriteTo are.
func TestReserveGSOCoalesces(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	var rec recorder
	sizes := []int{1200, 1200, 1200, 700, 1000, 1000}
	c := gsoSender(t, "udp4", "127.0.0.1:0", len(sizes), withWrite(rec.wrap))
	defer c.Close()
	for i, size := range sizes {
		if i == 4 {
			send(t, c, rx.LocalAddr(), uint32(i), size)
			continue
		}
		reserve(t, c, rx.LocalAddr(), uint32(i), size)
	}
	readExpect(t, rx, 0, sizes...)
	checkShapes(t, c, &rec, []shape{segs(1200, 1200, 1200, 700), segs(1000, 1000)})
}

// Close sends a slot reserved before it once the slot is committed, and
// returns only then; a Reserve after Close fails as WriteTo does.
func TestReserveCloseInBetween(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	c, waiting := waitingConn(t, 8)
	s, err := c.Reserve(rx.LocalAddr(), 400)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	waitFor(t, waiting, "Close's flush waiting for the slot")
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) before the slot was committed", err)
	default:
	}
	copy(s.B, payload(7, 400))
	c.Commit(s)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	readExpect(t, rx, 7, 400)
	if _, err := c.Reserve(rx.LocalAddr(), 100); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Reserve after Close: %v, want %v", err, net.ErrClosed)
	}
	if _, err := c.Reserve(rx.LocalAddr(), MaxPacket+1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Reserve over MaxPacket: %v, want %v", err, ErrTooLarge)
	}
}

// A batch dropped because the flusher is behind, while one of its slots
// is still being written, is not reused under that writer: later
// packets do not land in its slot.
func TestReserveDroppedBatchNotReused(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	c, waiting := waitingConn(t, 2)
	defer c.Close()
	var drops int
	c.SetOnDrop(func(reason string, n int) {
		if reason == "queue" {
			drops += n // called under c.mu, from this goroutine's writes
		}
	})
	first := queueBehindSlot(t, c, waiting, rx)
	s, err := c.Reserve(rx.LocalAddr(), 200)
	if err != nil {
		t.Fatal(err)
	}
	mine := payload(1000, 200)
	copy(s.B, mine)
	send(t, c, rx.LocalAddr(), 1001, 200) // full: dropped, s still being written
	if drops != 2 {
		t.Fatalf("dropped %d packets, want 2", drops)
	}
	send(t, c, rx.LocalAddr(), 2000, 200, 200) // a new batch
	if !bytes.Equal(s.B, mine) {
		t.Fatal("a later packet was written into a slot still being written")
	}
	c.Commit(s)
	releaseQueued(t, c, rx, first)
}

// queueBehindSlot has c's flusher wait for the first slot of its first
// batch (a 100-byte packet numbered 0, returned uncommitted, beside
// packet 1) while maxQueued batches of two 100-byte packets queue behind
// it: the queue is full.
func queueBehindSlot(t *testing.T, c *Conn, waiting <-chan struct{}, rx *net.UDPConn) Slot {
	t.Helper()
	first, err := c.Reserve(rx.LocalAddr(), 100)
	if err != nil {
		t.Fatal(err)
	}
	send(t, c, rx.LocalAddr(), 1, 100)
	waitFor(t, waiting, "the flusher waiting for the first slot")
	for i := range maxQueued {
		send(t, c, rx.LocalAddr(), uint32(2+2*i), 100, 100)
	}
	return first
}

// releaseQueued writes and commits first, from queueBehindSlot, and
// expects what was queued, in order, and nothing dropped or written later.
func releaseQueued(t *testing.T, c *Conn, rx *net.UDPConn, first Slot) {
	t.Helper()
	copy(first.B, payload(0, 100))
	c.Commit(first)
	want := make([]int, 2+2*maxQueued)
	for i := range want {
		want[i] = 100
	}
	readExpect(t, rx, 0, want...)
}
