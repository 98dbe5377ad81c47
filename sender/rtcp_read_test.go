package sender

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/udpbatch"
)

// The port reads what queued up several packets a call, and hands each
// to the reader whole, in order, with its sender's address; under the
// write batcher as well.
func TestPortReadsBatches(t *testing.T) {
	for _, batched := range []bool{false, true} {
		conn := testPort(t).PacketConn
		var pc net.PacketConn = conn
		if batched {
			pc = udpbatch.New(conn, 8, time.Millisecond)
			t.Cleanup(func() { _ = pc.Close() })
		}
		p := NewPort(pc)
		if p.batch == nil {
			t.Fatalf("write batcher %v: no batch reader", batched)
		}
		client, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		const n = 40
		for i := range n {
			if _, err := client.WriteTo(bytes.Repeat([]byte{byte(i)}, 10+i), conn.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		_ = p.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, 1500)
		for i := range n {
			k, addr, err := p.ReadFrom(b)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b[:k], bytes.Repeat([]byte{byte(i)}, 10+i)) || addr.String() != client.LocalAddr().String() {
				t.Fatalf("packet %d: %d bytes from %v", i, k, addr)
			}
		}
		if calls := p.batch.calls.Load(); calls >= n || p.batch.packets.Load() != n {
			t.Fatalf("%d packets in %d reads: not batched", p.batch.packets.Load(), calls)
		}
	}
}
