package udpbatch

import (
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/ipv4"
)

// The write that fills a batch, or the commit that completes it, sends
// it before it returns: no other goroutine is woken for it.
func TestCompleterSends(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := New(conn, 4, time.Hour)
	defer c.Close()
	send(t, c, rx.LocalAddr(), 0, 100, 100, 100)
	if c.flushed.Load() != 0 {
		t.Fatal("a batch went before it was full")
	}
	send(t, c, rx.LocalAddr(), 3, 100)
	if got := c.flushed.Load(); got != 4 {
		t.Fatalf("%d packets sent when the write that filled the batch returned, want 4", got)
	}
	s, err := c.Reserve(rx.LocalAddr(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var unit Slots
	if err := c.ReserveN(&unit, rx.LocalAddr(), []int{100, 100, 100, 100}); err != nil {
		t.Fatal(err)
	}
	copy(s.B, payload(4, 100))
	for i, b := range unit.B {
		copy(b, payload(uint32(5+i), 100))
	}
	c.CommitN(&unit)
	if got := c.flushed.Load(); got != 4 {
		t.Fatalf("%d packets sent with the batch's first slot still being written, want 4", got)
	}
	c.Commit(s)
	if got := c.flushed.Load(); got != 8 {
		t.Fatalf("%d packets sent when the commit that completed the batch returned, want 8", got)
	}
	readExpect(t, rx, 0, 100, 100, 100, 100, 100, 100, 100, 100)
}

// fullOnce answers errWouldBlock, as a socket that takes no more for now
// does to a writer told to try, on the first call when armed.
type fullOnce struct {
	mu    sync.Mutex
	armed bool
	calls int
}

func (f *fullOnce) wrap(real writer) writer {
	return func(ms []ipv4.Message) (int, error) {
		f.mu.Lock()
		f.calls++
		full := f.armed
		f.armed = false
		f.mu.Unlock()
		if full {
			return 0, errWouldBlock
		}
		return real(ms)
	}
}

// A sender that finds the socket full hands the batch, and the queue
// behind it, to the flushing goroutine, which sends them in order; the
// writers meanwhile go on.
func TestFullSocketHandsOver(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	var full fullOnce
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := New(conn, 4, time.Hour, WithGSO(false), withWrite(full.wrap))
	defer c.Close()
	full.mu.Lock()
	full.armed = true
	full.mu.Unlock()
	var sizes []int
	for i := range 40 {
		sizes = append(sizes, 100+i)
		send(t, c, rx.LocalAddr(), uint32(i), 100+i)
	}
	readExpect(t, rx, 0, sizes...)
	full.mu.Lock()
	defer full.mu.Unlock()
	if full.armed || full.calls < 11 {
		t.Fatalf("%d writes, armed %v: the full socket was not met", full.calls, full.armed)
	}
	if c.Dropped() != 0 || c.Failed() != 0 {
		t.Fatalf("dropped %d, failed %d", c.Dropped(), c.Failed())
	}
}

// An address the raw sendmmsg does not build (a zoned IPv6 one) goes
// through x/net's writer, and the rest through the raw one.
func TestRawWriterZonedAddressToXNet(t *testing.T) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var slow int
	w := newRawWriter(conn, func(ms []ipv4.Message) (int, error) {
		slow++
		return len(ms), nil
	})
	if w == nil {
		t.Skip("no raw sendmmsg on this system")
	}
	rx := listen(t, "udp4")
	zoned := &net.UDPAddr{IP: net.ParseIP("fe80::1"), Port: 9, Zone: "lo"}
	if n, err := w.write([]ipv4.Message{{Buffers: [][]byte{payload(0, 50)}, Addr: zoned}}); n != 1 || err != nil || slow != 1 {
		t.Fatalf("zoned: %d sent, %v, x/net called %d times", n, err, slow)
	}
	ms := []ipv4.Message{
		{Buffers: [][]byte{payload(1, 60)}, Addr: rx.LocalAddr()},
		{Buffers: [][]byte{payload(2, 70)}, Addr: rx.LocalAddr()},
	}
	if n, err := w.write(ms); n != 2 || err != nil || slow != 1 {
		t.Fatalf("plain: %d sent, %v, x/net called %d times", n, err, slow)
	}
	readExpect(t, rx, 1, 60, 70)
}
