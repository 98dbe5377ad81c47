package udpbatch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// withWrite replaces the Conn's sendmmsg by wrap(the real one).
func withWrite(wrap func(real writer) writer) Option {
	return func(c *Conn) { c.write = wrap(c.write) }
}

// recorder notes the shape of every message handed to sendmmsg: its
// segments' sizes and, for a GSO message, its GSO size.
type recorder struct {
	mu   sync.Mutex
	msgs []shape
}

type shape struct {
	segs []int
	gso  int // 0: no UDP_SEGMENT control message
}

func (r *recorder) wrap(real writer) writer {
	return func(ms []ipv4.Message) (int, error) {
		n, err := real(ms)
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, m := range ms[:max(n, 0)] {
			s := shape{}
			for _, b := range m.Buffers {
				s.segs = append(s.segs, len(b))
			}
			if len(m.OOB) > 0 {
				s.gso = int(binary.NativeEndian.Uint16(m.OOB[segmentDataOffset:]))
			}
			r.msgs = append(r.msgs, s)
		}
		return n, err
	}
}

// shapes returns the messages sent so far.
func (r *recorder) shapes() []shape {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]shape(nil), r.msgs...)
}

// payload is packet i of a flow: its number, then bytes that depend on
// it, so that a packet cut or glued in the wrong place shows.
func payload(i uint32, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b, i)
	for j := 4; j < size; j++ {
		b[j] = byte(int(i)*7 + j)
	}
	return b
}

// datagram is what a receiver read: the packet's number and size.
type datagram struct {
	num  uint32
	size int
}

// listen opens a loopback receiver on network ("udp4", "udp6").
func listen(t *testing.T, network string) *net.UDPConn {
	t.Helper()
	ip := net.IPv4(127, 0, 0, 1)
	if network == "udp6" {
		ip = net.IPv6loopback
	}
	rx, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
	if err != nil {
		t.Skipf("no %s loopback here: %v", network, err)
	}
	t.Cleanup(func() { _ = rx.Close() })
	_ = rx.SetReadBuffer(4 << 20)
	return rx
}

// readDatagrams reads n datagrams from rx, checking each one's bytes
// against payload; it returns an error rather than failing, so that it
// can run on any goroutine.
func readDatagrams(rx *net.UDPConn, n int) ([]datagram, error) {
	var got []datagram
	buf := make([]byte, 1<<16)
	for len(got) < n {
		_ = rx.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, _, err := rx.ReadFrom(buf)
		if err != nil {
			return got, err
		}
		if k < 4 {
			return got, fmt.Errorf("a datagram of %d bytes after %d", k, len(got))
		}
		num := binary.BigEndian.Uint32(buf)
		if !bytes.Equal(buf[:k], payload(num, k)) {
			return got, fmt.Errorf("datagram %d (%d bytes) is not the packet written", num, k)
		}
		got = append(got, datagram{num, k})
	}
	return got, nil
}

// send writes each size in sizes to addr as packets first, first+1, ...
func send(t *testing.T, c *Conn, addr net.Addr, first uint32, sizes ...int) {
	t.Helper()
	for i, size := range sizes {
		if _, err := c.WriteTo(payload(first+uint32(i), size), addr); err != nil {
			t.Fatal(err)
		}
	}
}

// expect checks that got are packets first, first+1, ... of sizes.
func expect(t *testing.T, got []datagram, first uint32, sizes ...int) {
	t.Helper()
	if len(got) != len(sizes) {
		t.Fatalf("got %d datagrams, want %d", len(got), len(sizes))
	}
	for i, d := range got {
		if want := (datagram{first + uint32(i), sizes[i]}); d != want {
			t.Fatalf("datagram %d is number %d of %d bytes, want number %d of %d bytes", i, d.num, d.size, want.num, want.size)
		}
	}
}

// checkShapes closes c, so that its flusher has recorded all it sent, and
// checks the messages rec saw.
func checkShapes(t *testing.T, c *Conn, rec *recorder, want []shape) {
	t.Helper()
	_ = c.Close()
	if s := rec.shapes(); !reflect.DeepEqual(s, want) {
		t.Fatalf("sent messages %v, want %v", s, want)
	}
}

// readExpect reads as many datagrams off rx as sizes has and expects
// them numbered from first on, of those sizes.
func readExpect(t *testing.T, rx *net.UDPConn, first uint32, sizes ...int) {
	t.Helper()
	got, err := readDatagrams(rx, len(sizes))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, got, first, sizes...)
}
