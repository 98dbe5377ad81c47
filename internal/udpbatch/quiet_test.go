//go:build linux

package udpbatch

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// quietSender is a Conn on a socket from Listen: it sends from its quiet
// socket.
func quietSender(t *testing.T, network, addr string, opts ...Option) *Conn {
	t.Helper()
	conn, err := Listen(network, addr)
	if err != nil {
		t.Skipf("no %s socket here: %v", network, err)
	}
	var off error
	c := New(conn, 8, time.Millisecond, append(opts, WithOnQuietOff(func(err error) { off = err }))...)
	if !c.Quiet() {
		_ = c.Close()
		t.Fatalf("no quiet socket: %v", off)
	}
	return c
}

// The quiet socket sends from the port's own address, GSO messages
// included: a receiver sees one peer.
func TestQuietSendsFromThePort(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	c := quietSender(t, "udp4", "127.0.0.1:0")
	defer c.Close()
	var sizes []int
	for i := range 60 {
		sizes = append(sizes, 1200-i%3*400) // runs of equal sizes: GSO messages
	}
	send(t, c, rx.LocalAddr(), 0, sizes...)
	buf := make([]byte, 2000)
	for i := range sizes {
		_ = rx.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := rx.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v", i, err)
		}
		if from.String() != c.LocalAddr().String() {
			t.Fatalf("datagram %d from %v, want the port %v", i, from, c.LocalAddr())
		}
		if n != sizes[i] {
			t.Fatalf("datagram %d of %d bytes, want %d", i, n, sizes[i])
		}
	}
	if c.Failed() != 0 || c.Dropped() != 0 {
		t.Fatalf("failed %d, dropped %d", c.Failed(), c.Dropped())
	}
}

// Every datagram that arrives at the port is read from the Conn, none
// from the quiet socket (nobody reads it): from many source ports, whose
// hashes would spread them over the group without the program.
func TestQuietSteersEveryDatagramToThePort(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := quietSender(t, "udp4", "127.0.0.1:0")
	defer c.Close()
	const peers, each = 16, 10
	for p := range peers {
		tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		for i := range each {
			if _, err := tx.WriteTo(payload(uint32(p*each+i), 100), c.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		_ = tx.Close()
	}
	seen := map[uint32]bool{}
	buf := make([]byte, 2000)
	for len(seen) < peers*each {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("read %d of %d datagrams sent to the port: %v", len(seen), peers*each, err)
		}
		if n != 100 {
			t.Fatalf("a datagram of %d bytes", n)
		}
		seen[uint32(buf[0])<<24|uint32(buf[1])<<16|uint32(buf[2])<<8|uint32(buf[3])] = true
	}
}

// Close closes the quiet socket with the port: the address is free again
// for a socket that does not share it.
func TestQuietClosedWithConn(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := quietSender(t, "udp4", "127.0.0.1:0")
	addr := c.LocalAddr().String()
	if _, err := net.ListenPacket("udp4", addr); err == nil {
		t.Fatal("the port was free while the Conn held it")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := net.ListenPacket("udp4", addr)
	if err != nil {
		t.Fatalf("the port is still held after Close: %v", err)
	}
	_ = again.Close()
}

// A dual-stack port's quiet socket is dual-stack too: it sends to an
// IPv4 peer.
func TestQuietDualStackToIPv4(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	c := quietSender(t, "udp", ":0")
	defer c.Close()
	send(t, c, rx.LocalAddr(), 0, 100, 200, 300)
	readExpect(t, rx, 0, 100, 200, 300)
}

// A full quiet socket hands its batch to the port's own socket: nothing
// is lost, and the quiet socket is tried again for the next batch.
func TestQuietFullHandsToThePort(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	var calls, fulls atomic.Int32
	full := func(c *Conn) {
		real := c.raw.sendQ
		c.raw.sendQ = func() bool {
			if calls.Add(1)%2 == 1 { // every other call: full
				fulls.Add(1)
				return false
			}
			return real()
		}
	}
	c := quietSender(t, "udp4", "127.0.0.1:0", full)
	var sizes []int
	for i := range 40 {
		sizes = append(sizes, 100+i)
		send(t, c, rx.LocalAddr(), uint32(i), 100+i)
		if i%4 == 3 { // one batch at a time: a call each
			readExpect(t, rx, uint32(i-3), sizes[i-3:]...)
		}
	}
	_ = c.Close()
	if fulls.Load() < 5 || calls.Load() < 10 {
		t.Fatalf("%d calls, %d full: the full quiet socket was not met", calls.Load(), fulls.Load())
	}
	if c.Failed() != 0 || c.Dropped() != 0 {
		t.Fatalf("failed %d, dropped %d", c.Failed(), c.Dropped())
	}
}

// A socket that does not share its port (net.ListenPacket) has no quiet
// socket, and nothing is reported; nor has one with WithQuiet(false).
func TestQuietNeedsASharedPort(t *testing.T) {
	defer goleak.VerifyNone(t)
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var told bool
	c := New(conn, 8, time.Millisecond, WithOnQuietOff(func(error) { told = true }))
	defer c.Close()
	if c.Quiet() || told {
		t.Fatalf("quiet %v, told %v", c.Quiet(), told)
	}
	shared, err := Listen("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	off := New(shared, 8, time.Millisecond, WithQuiet(false))
	defer off.Close()
	if off.Quiet() {
		t.Fatal("a quiet socket with WithQuiet(false)")
	}
}

// Listen refuses a port that another socket holds, one that shares its
// port (a second server on the same port) as well as one that does not.
func TestListenRefusesAHeldPort(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := quietSender(t, "udp4", "127.0.0.1:0")
	defer c.Close()
	if again, err := Listen("udp4", c.LocalAddr().String()); err == nil {
		_ = again.Close()
		t.Fatal("a second Listen on a port held by a Conn from Listen")
	}
	plain, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if again, err := Listen("udp4", plain.LocalAddr().String()); err == nil {
		_ = again.Close()
		t.Fatal("Listen on a port held by a plain socket")
	}
}
