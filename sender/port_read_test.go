package sender

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// TestPortReadsDatagrams reads through the port's own reader, on an IPv4
// and a dual-stack socket: each datagram whole, with its sender.
func TestPortReadsDatagrams(t *testing.T) {
	for _, tc := range []struct{ name, network, listen, dial string }{
		{"ipv4", "udp4", "127.0.0.1:0", "127.0.0.1"},
		{"dual-stack", "udp", ":0", "127.0.0.1"},
		{"ipv6", "udp6", "[::1]:0", "::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.ListenPacket(tc.network, tc.listen)
			if err != nil {
				t.Skipf("no %s socket here: %v", tc.network, err)
			}
			p := NewPort(conn)
			defer p.Close()
			if p.raw == nil {
				t.Fatal("the port does not read its UDP socket itself")
			}
			port := conn.LocalAddr().(*net.UDPAddr).Port
			to := &net.UDPAddr{IP: net.ParseIP(tc.dial), Port: port}
			client, err := net.DialUDP("udp", nil, to)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			from := client.LocalAddr().(*net.UDPAddr).AddrPort()
			buf := make([]byte, 1500)
			for i, size := range []int{1, 100, 1400} {
				want := bytes.Repeat([]byte{byte(i + 1)}, size)
				if _, err := client.Write(want); err != nil {
					t.Fatal(err)
				}
				n, addr, err := p.ReadFrom(buf)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf[:n], want) {
					t.Fatalf("read %d bytes %x..., sent %d", n, buf[:min(n, 4)], size)
				}
				got := addr.(*net.UDPAddr).AddrPort()
				if routeKey(got) != routeKey(from) {
					t.Fatalf("from %v, sent from %v", got, from)
				}
			}
		})
	}
}

// TestPortReadDeadlineAndClose: the port's reader keeps the socket's
// deadline and ends with net.ErrClosed when the port is closed.
func TestPortReadDeadlineAndClose(t *testing.T) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPort(conn)
	buf := make([]byte, 1500)
	if err := p.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
	if err := p.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := p.ReadFrom(buf)
		done <- err
	}()
	p.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed port: %v", err)
	}
}

// TestPortReadAllocs: a datagram read by the port's reader allocates
// nothing.
func TestPortReadAllocs(t *testing.T) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPort(conn)
	defer p.Close()
	client, err := net.DialUDP("udp4", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	msg, buf := []byte("ping"), make([]byte, 1500)
	var ap netip.AddrPort
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := client.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, ap, err = p.raw.read(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per read", allocs)
	}
	if ap != client.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("from %v", ap)
	}
}
