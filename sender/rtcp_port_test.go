package sender

import (
	"net"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/udpbatch"
	"github.com/mutstream/mutstream/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A direct viewer's SRTCP read off the port, decrypted and walked,
// allocates nothing: only the packet handed on to pion has its address
// made, as net.UDPConn.ReadFrom makes it. Under the write batcher too, the port reads the socket itself.
func TestPortTakesWithoutAllocating(t *testing.T) {
	p := testPort(t)
	if bp := NewPort(udpbatch.New(p.PacketConn, 8, time.Millisecond)); bp.udp == nil {
		t.Fatal("under the write batcher, the port does not read the socket")
	}
	s, _ := quietPath(t)
	in, enc := directPathIn(t, s)
	const taken = 10
	// Each packet its own: the opener refuses a replay.
	pkts := make([][]byte, 51*taken)
	for i := range pkts {
		var err error
		if pkts[i], err = enc.EncryptRTCP(nil, feedbackCompound(t), nil); err != nil {
			t.Fatal(err)
		}
	}
	client, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	from := client.LocalAddr().(*net.UDPAddr).AddrPort()
	p.routes[routeKey(from)] = in
	to := p.LocalAddr().(*net.UDPAddr).AddrPort()
	stun := []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42} // not RTCP: pion's
	buf := make([]byte, 1500)
	allocs := testing.AllocsPerRun(50, func() {
		for range taken {
			_, _ = client.WriteToUDPAddrPort(pkts[0], to)
			pkts = pkts[1:]
		}
		_, _ = client.WriteToUDPAddrPort(stun, to)
		n, addr, err := p.ReadFrom(buf)
		if ua, ok := addr.(*net.UDPAddr); err != nil || n != len(stun) || !ok || ua.AddrPort() != from {
			t.Fatalf("read %d bytes from %v (%v), want the STUN packet from %v", n, addr, err, from)
		}
	})
	if got := in.taken.Load(); got != 51*taken {
		t.Fatalf("%d packets taken, want %d", got, 51*taken)
	}
	if allocs > 2 {
		t.Fatalf("%v allocations per %d SRTCP packets and one for pion, want 2 (the latter's address and IP)", allocs, taken)
	}
}

// TestPortDropsForgedAndReplayedSRTCP: RTCP from a direct viewer's
// address that does not authenticate, or comes a second time, is dropped
// and counted; pion never reads it (its SRTCP session, which never saw
// the viewer's packets, would take a replay as new).
func TestPortDropsForgedAndReplayedSRTCP(t *testing.T) {
	p := testPort(t)
	s, _ := quietPath(t)
	in, enc := directPathIn(t, s)
	pkt, err := enc.EncryptRTCP(nil, feedbackCompound(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	forged := append([]byte(nil), pkt...)
	forged[len(forged)/2] ^= 1
	client, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	from := client.LocalAddr().(*net.UDPAddr).AddrPort()
	p.routes[routeKey(from)] = in
	to := p.LocalAddr().(*net.UDPAddr).AddrPort()
	rejected := metrics.ViewerRTCPRejected.WithLabelValues("decrypt")
	before := testutil.ToFloat64(rejected)
	stun := []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42} // not RTCP: pion's
	for _, b := range [][]byte{pkt, forged, pkt, stun} {
		if _, err := client.WriteToUDPAddrPort(b, to); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1500)
	n, _, err := p.ReadFrom(buf)
	if err != nil || n != len(stun) {
		t.Fatalf("pion read %d bytes (%v), want only the STUN packet", n, err)
	}
	if got := in.taken.Load(); got != 1 {
		t.Fatalf("%d packets taken, want the first one only", got)
	}
	if got := testutil.ToFloat64(rejected) - before; got != 2 {
		t.Fatalf("%v packets counted as not authentic, want the forged one and the replay", got)
	}
}
