package sender

import (
	"bytes"
	"net"
	"net/netip"
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
	client, from, to := routedClient(t, p, in)
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

// TestPortDropsReplayedSRTCP: a replay of a direct viewer's SRTCP is
// dropped and counted (pion's SRTCP session, which never saw the
// original, would take it as new); a packet that does not decrypt with
// the viewer's keys goes to pion, which holds the keys of any other
// connection on the client's address, or rejects it.
func TestPortDropsReplayedSRTCP(t *testing.T) {
	p := testPort(t)
	s, _ := quietPath(t)
	in, enc := directPathIn(t, s)
	pkt, err := enc.EncryptRTCP(nil, feedbackCompound(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The next packet, with a bit flipped: a new index that does not
	// authenticate.
	forged, err := enc.EncryptRTCP(nil, feedbackCompound(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	forged[len(forged)/2] ^= 1
	client, _, to := routedClient(t, p, in)
	replayed := metrics.ViewerRTCPRejected.WithLabelValues("replay")
	notDecrypted := metrics.ViewerRTCPRejected.WithLabelValues("decrypt")
	beforeReplayed, beforeNot := testutil.ToFloat64(replayed), testutil.ToFloat64(notDecrypted)
	stun := []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42} // not RTCP: pion's
	for _, b := range [][]byte{pkt, pkt, forged, stun} {
		if _, err := client.WriteToUDPAddrPort(b, to); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1500)
	for _, want := range [][]byte{forged, stun} {
		n, _, err := p.ReadFrom(buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Fatalf("pion read %d bytes (%v), want the packet that does not decrypt, then the STUN packet", n, err)
		}
	}
	if got := in.taken.Load(); got != 1 {
		t.Fatalf("%d packets taken, want the first one only", got)
	}
	if got := testutil.ToFloat64(replayed) - beforeReplayed; got != 1 {
		t.Fatalf("%v packets counted as replays, want 1", got)
	}
	if got := testutil.ToFloat64(notDecrypted) - beforeNot; got != 1 {
		t.Fatalf("%v packets counted as not decrypted, want 1", got)
	}
}

// routedClient is a client socket on loopback whose SRTCP p routes to
// in; it returns the socket, its address and p's.
func routedClient(t *testing.T, p *Port, in *directIn) (*net.UDPConn, netip.AddrPort, netip.AddrPort) {
	t.Helper()
	client, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	from := client.LocalAddr().(*net.UDPAddr).AddrPort()
	p.routes[routeKey(from)] = in
	return client, from, p.LocalAddr().(*net.UDPAddr).AddrPort()
}
