package signaling

import (
	"encoding/binary"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/metrics"
)

// readAll runs one reader per conn, as pion runs one per local host
// candidate, each handling a packet (appending its number) before the next
// read, until one reads the end mark; it returns the numbers in the order
// they were handled.
func readAll(conns []net.PacketConn) []uint32 {
	var mu sync.Mutex
	var got []uint32
	var wg sync.WaitGroup
	ended := make(chan struct{})
	var once sync.Once
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				n, _, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				if n == 4 && string(buf[:4]) == "end!" {
					once.Do(func() { close(ended) })
					return
				}
				if n != 8 || string(buf[:4]) != "seq:" {
					continue
				}
				runtime.Gosched() // handling takes a while
				mu.Lock()
				got = append(got, binary.BigEndian.Uint32(buf[4:8]))
				mu.Unlock()
			}
		}()
	}
	<-ended
	for _, c := range conns {
		_ = c.Close()
	}
	wg.Wait()
	return got
}

// muxedConns opens a UDP mux and asks it for n connections of one ufrag,
// as pion's gathering does once per local host candidate, and returns a
// sender whose packets the mux routes to them.
func muxedConns(t *testing.T, wrap bool, n int) ([]net.PacketConn, net.Conn) {
	t.Helper()
	sock, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mux ice.UDPMux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: sock})
	if wrap {
		mux = newOrderedMux(mux)
	}
	t.Cleanup(func() { _ = mux.Close() })
	conns := make([]net.PacketConn, n)
	for i := range conns {
		if conns[i], err = mux.GetConn("ufrag", sock.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	peer, err := net.Dial("udp4", sock.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	// The mux finds the connection of a new address by the ufrag of its
	// binding request, and routes by address once the connection answers.
	if _, err := peer.Write(bindingRequest("ufrag:remote")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_, from, err := conns[0].ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conns[0].WriteTo([]byte("answer"), from); err != nil {
		t.Fatal(err)
	}
	return conns, peer
}

// bindingRequest is a STUN binding request (RFC 8489) carrying only a
// USERNAME, which is all the mux reads.
func bindingRequest(user string) []byte {
	pad := (4 - len(user)%4) % 4
	b := make([]byte, 20, 20+4+len(user)+pad)
	binary.BigEndian.PutUint16(b[0:], 0x0001)
	binary.BigEndian.PutUint16(b[2:], uint16(4+len(user)+pad))
	binary.BigEndian.PutUint32(b[4:], 0x2112A442)
	copy(b[8:20], "transaction1")
	b = binary.BigEndian.AppendUint16(b, 0x0006)
	b = binary.BigEndian.AppendUint16(b, uint16(len(user)))
	b = append(b, user...)
	return append(b, make([]byte, pad)...)
}

// TestOrderedMuxKeepsOrder: packets sent in order to one ufrag come out
// of its connections in order, although several goroutines read them.
func TestOrderedMuxKeepsOrder(t *testing.T) {
	got := sendThroughMux(t, true)
	if len(got) < 1000 {
		t.Fatalf("only %d of 3000 packets read", len(got))
	}
	if n := outOfPlace(got); n > 0 {
		t.Fatalf("%d of %d packets handled out of order", n, len(got))
	}
}

// sendThroughMux sends 3000 numbered packets in order to three
// connections of one ufrag and returns them as they were handled.
func sendThroughMux(t *testing.T, wrap bool) []uint32 {
	conns, peer := muxedConns(t, wrap, 3)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := range uint32(3000) {
			b := []byte("seq:\x00\x00\x00\x00")
			binary.BigEndian.PutUint32(b[4:], i)
			if _, err := peer.Write(b); err != nil {
				return
			}
			if i%32 == 0 {
				time.Sleep(time.Millisecond) // stay within the socket buffer
			}
		}
		for {
			if _, err := peer.Write([]byte("end!")); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return readAll(conns)
}

// outOfPlace counts the numbers smaller than the one before.
func outOfPlace(s []uint32) int {
	n := 0
	for i := 1; i < len(s); i++ {
		if s[i] < s[i-1] {
			n++
		}
	}
	return n
}

// localIPv4 counts this machine's IPv4 addresses, loopback included.
func localIPv4(t *testing.T) int {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			n++
		}
	}
	return n
}

// TestWHIPInOrderWithSeveralHostCandidates: a publisher that sends in
// order to a server listening on every address (one host candidate per
// address) gets its packets to the jitter buffer in order: nothing to
// recover.
func TestWHIPInOrderWithSeveralHostCandidates(t *testing.T) {
	e2e.FFmpegPath(t)
	if localIPv4(t) < 2 {
		t.Skip("this machine has one IPv4 address: one host candidate, nothing to reorder")
	}
	hs, _, _, packets := newWHIPEnv(t, func(c *Config) { c.UDPAddr = "" })
	ts := filepath.Join(t.TempDir(), "in.ts")
	e2e.MakeTS(t, ts, "640x360", 30, 4, true)
	c, err := e2e.DialWHIP(hs.URL+"/whip/inorder", pubToken, e2e.WHIPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hosts := 0
	for _, l := range strings.Split(c.PC.RemoteDescription().SDP, "\n") {
		f := strings.Fields(l)
		if strings.HasPrefix(l, "a=candidate:") && len(f) > 7 && f[7] == "host" {
			if ip := net.ParseIP(f[4]); ip != nil && ip.To4() != nil {
				hosts++
			}
		}
	}
	// The peer is on loopback: loopback first (candidateOrder).
	if c := candidatesOf(c.PC.RemoteDescription().SDP); len(c) == 0 || c[0] != "127.0.0.1" {
		t.Errorf("answer's candidates %v, want 127.0.0.1 first for a loopback peer", c)
	}
	if hosts < 2 {
		t.Fatalf("answer has %d IPv4 host candidates, want several:\n%s", hosts, c.PC.RemoteDescription().SDP)
	}
	c.StreamFile(ts, true)
	waitFor(t, 60*time.Second, "1000 packets through the jitter buffer", func() bool { return packets.Load() > 1000 })
	if got := testutil.ToFloat64(metrics.WHIPPacketsRecovered.WithLabelValues("inorder")); got != 0 {
		t.Fatalf("%v packets recovered from reordering, want 0: the publisher sent in order", got)
	}
}
