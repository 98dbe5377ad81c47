package udpbatch

import (
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// receiver reads numbered packets on a loopback socket.
func receiver(t *testing.T) (*net.UDPConn, func(n int) []uint32) {
	t.Helper()
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rx.Close() })
	_ = rx.SetReadBuffer(4 << 20)
	read := func(n int) []uint32 {
		t.Helper()
		var got []uint32
		buf := make([]byte, 2000)
		for len(got) < n {
			_ = rx.SetReadDeadline(time.Now().Add(10 * time.Second))
			k, _, err := rx.ReadFrom(buf)
			if err != nil {
				t.Fatalf("after %d of %d packets: %v", len(got), n, err)
			}
			got = append(got, binary.BigEndian.Uint32(buf[:k]))
		}
		return got
	}
	return rx, read
}

func sender(t *testing.T, network, addr string, size int) *Conn {
	t.Helper()
	conn, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("no %s socket here: %v", network, err)
	}
	return New(conn, size, time.Millisecond)
}

func numbered(i uint32, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b, i)
	return b
}

func TestBatchesKeepOrder(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx, read := receiver(t)
	c := sender(t, "udp4", "127.0.0.1:0", 8)
	defer c.Close()
	// Rounds of 100 packets (about 110 KB), each read before the next is
	// written, so that the receiver's socket buffer never overflows.
	const rounds, per = 10, 100
	for r := uint32(0); r < rounds; r++ {
		for i := r * per; i < (r+1)*per; i++ {
			if _, err := c.WriteTo(numbered(i, 100+int(i%1000)), rx.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range read(per) {
			if want := r*per + uint32(k); v != want {
				t.Fatalf("packet %d arrived as number %d: out of order", want, v)
			}
		}
	}
	if c.Dropped() != 0 || c.Failed() != 0 {
		t.Fatalf("dropped %d, failed %d", c.Dropped(), c.Failed())
	}
}

// A batch that never fills still goes out: its first packet's wait ends it.
func TestLoneNotHeld(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx, read := receiver(t)
	c := sender(t, "udp4", "127.0.0.1:0", 64)
	defer c.Close()
	for i := uint32(0); i < 3; i++ {
		if _, err := c.WriteTo(numbered(i, 20), rx.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if got := read(1); got[0] != i {
			t.Fatalf("got %d, want %d", got[0], i)
		}
	}
}

// Close sends what is queued, then refuses writes.
func TestCloseFlushes(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx, read := receiver(t)
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := New(conn, 64, time.Hour)
	for i := uint32(0); i < 5; i++ {
		_, _ = c.WriteTo(numbered(i, 20), rx.LocalAddr())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := read(5); got[4] != 4 {
		t.Fatalf("got %v", got)
	}
	if _, err := c.WriteTo(numbered(9, 20), rx.LocalAddr()); err == nil {
		t.Fatal("a write after Close was taken")
	}
}

// A socket bound to every address (IPv6, dual stack) sends to IPv4 peers.
func TestDualStackToIPv4(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx, read := receiver(t)
	c := sender(t, "udp", ":0", 4)
	defer c.Close()
	for i := uint32(0); i < 10; i++ {
		_, _ = c.WriteTo(numbered(i, 20), rx.LocalAddr())
	}
	if got := read(10); got[9] != 9 {
		t.Fatalf("got %v", got)
	}
	if c.Failed() != 0 {
		t.Fatalf("%d packets refused", c.Failed())
	}
}

// A packet the system refuses (an IPv6 address on an IPv4 socket) is
// counted and reported, and the rest of its batch still goes.
func TestRefusedReportedRestSent(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx, read := receiver(t)
	c := sender(t, "udp4", "127.0.0.1:0", 4)
	defer c.Close()
	var (
		mu      sync.Mutex
		reasons []string
	)
	c.SetOnDrop(func(reason string, n int) { // called by the flusher
		mu.Lock()
		defer mu.Unlock()
		for ; n > 0; n-- {
			reasons = append(reasons, reason)
		}
	})
	_, _ = c.WriteTo(numbered(0, 20), &net.UDPAddr{IP: net.IPv6loopback, Port: 9})
	_, _ = c.WriteTo(numbered(1, 20), rx.LocalAddr())
	if got := read(1); got[0] != 1 {
		t.Fatalf("got %v, want packet 1", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if c.Failed() != 1 || len(reasons) != 1 || reasons[0] != "refused" {
		t.Fatalf("failed %d, reported %v; want one refused", c.Failed(), reasons)
	}
}
