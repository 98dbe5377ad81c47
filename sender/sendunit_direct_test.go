package sender

import (
	"bytes"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/mutstream/mutstream/internal/udpbatch"
	"github.com/mutstream/mutstream/stream"
)

// testSealOut is a direct writer sealing with AES-128-GCM (and cryptex)
// into the batches of a loopback port, and the socket its packets reach;
// every such writer has the same keys, so that the same packets seal to
// the same bytes.
func testSealOut(t *testing.T, batch int) (*directOut, *net.UDPConn) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = rx.SetReadBuffer(4 << 20)
	bc := udpbatch.New(conn, batch, time.Millisecond)
	t.Cleanup(func() { _ = bc.Close(); _ = rx.Close() })
	key, salt := masterKeys(rand.New(rand.NewPCG(1, 1)), 16)
	d := &directOut{conn: NewPort(bc), buf: make([]byte, directBuf), batch: bc}
	if d.seal, err = newRTPSealer(key, salt, true); err != nil {
		t.Fatal(err)
	}
	d.addr.Store(rx.LocalAddr().(*net.UDPAddr))
	return d, rx
}

// readAll reads n datagrams from rx.
func readAll(t *testing.T, rx *net.UDPConn, n int) [][]byte {
	t.Helper()
	var got [][]byte
	buf := make([]byte, 1<<16)
	for len(got) < n {
		_ = rx.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, _, err := rx.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", len(got), n, err)
		}
		got = append(got, bytes.Clone(buf[:k]))
	}
	return got
}

// sameDatagrams checks that two writers sent the same datagrams.
func sameDatagrams(t *testing.T, whole, byPacket [][]byte) {
	t.Helper()
	for i := range byPacket {
		if !bytes.Equal(whole[i], byPacket[i]) {
			t.Fatalf("datagram %d: %d bytes whole, %d packet by packet, not the same", i, len(whole[i]), len(byPacket[i]))
		}
	}
}

// TestSendUnitDirectAsPacketByPacket: a direct viewer's access units,
// sealed whole into the port's batches (writeUnit), reach the network as
// the same datagrams, in the same order, as when each packet goes
// through the direct writer's write.
func TestSendUnitDirectAsPacketByPacket(t *testing.T) {
	var outs [2]*directOut
	var rxs [2]*net.UDPConn
	total := 0
	for k, unit := range []bool{false, true} {
		o, sp, _ := unitUnderTest(t, "video/H264", unit)
		outs[k], rxs[k] = testSealOut(t, 8) // units cross batches
		sp.direct.Store(outs[k])
		total = 0
		for i, sizes := range [][]int{{30000, 9000}, {2083, 2100}, {500}, {1199, 1200, 1201}, {4000}} {
			p := &stream.Packet{Data: annexB(sizes...), PTS: time.Duration(i) * 33 * time.Millisecond, Keyframe: i == 0}
			n, err := o.write(p, true)
			if err != nil || n != len(p.Payloads(o.cut)) {
				t.Fatalf("unit=%v: access unit %d: %d packets, %v", unit, i, n, err)
			}
			total += n
		}
	}
	if outs[0].sent.Load() != uint64(total) || outs[1].sent.Load() != uint64(total) {
		t.Fatalf("sent %d packet by packet, %d whole, want %d", outs[0].sent.Load(), outs[1].sent.Load(), total)
	}
	sameDatagrams(t, readAll(t, rxs[1], total), readAll(t, rxs[0], total))
}

// TestWriteUnitLargeAndFailing: in a unit, a packet too large for a batch
// slot goes alone, at once, and a unit whose packets cannot be sealed
// sends nothing and says why, as packet by packet.
func TestWriteUnitLargeAndFailing(t *testing.T) {
	sizes := []int{1100, 1600, 1100, 300}
	pkts := func() []unitPacket {
		var ps []unitPacket
		for i, n := range sizes {
			ps = append(ps, unitPacket{payload: bytes.Repeat([]byte{byte(i + 1)}, n), seq: uint16(100 + i), ts: 9000, marker: i == len(sizes)-1, ext: make([]byte, 2)})
			ps[i].rec.payload = ps[i].payload
		}
		return ps
	}
	st := &sentStream{twccID: 3}
	header := func() *rtp.Header { return &rtp.Header{Version: 2, PayloadType: 102, SSRC: 7} }
	whole, rxWhole := testSealOut(t, 4)
	byPacket, rxByPacket := testSealOut(t, 4)
	if n, err := whole.writeUnit(st, header(), pkts(), 50); n != len(sizes) || err != nil {
		t.Fatalf("writeUnit: %d packets, %v", n, err)
	}
	h := header()
	for i, p := range pkts() {
		h.SequenceNumber, h.Timestamp, h.Marker = p.seq, p.ts, p.marker
		if err := st.number(h, p.ext, uint16(50+i)); err != nil {
			t.Fatal(err)
		}
		if _, err := byPacket.write(h, p.payload); err != nil {
			t.Fatal(err)
		}
	}
	sameDatagrams(t, readAll(t, rxWhole, len(sizes)), readAll(t, rxByPacket, len(sizes)))

	// An extension profile cryptex cannot take fails the third packet.
	bad := pkts()
	hb := header()
	if n, err := whole.writeUnit(&sentStream{}, hb, bad[:2], 0); n != 2 || err != nil {
		t.Fatalf("writeUnit: %d packets, %v", n, err)
	}
	hb.Extension, hb.ExtensionProfile = true, 0x1234
	n, err := whole.writeUnit(&sentStream{}, hb, bad[2:], 0)
	if n != 0 || err == nil {
		t.Fatalf("writeUnit with a bad extension profile: %d packets, %v; want 0 and an error", n, err)
	}
	if got := whole.sent.Load(); got != uint64(len(sizes)+2) {
		t.Fatalf("%d packets counted sent, want %d", got, len(sizes)+2)
	}
	readAll(t, rxWhole, 2)
}

// TestSendUnitDirectAllocs: a direct viewer's access unit sealed whole
// into batch slots and sent allocates nothing.
func TestSendUnitDirectAllocs(t *testing.T) {
	o, sp, _ := unitUnderTest(t, "video/H264", true)
	d, rx := testSealOut(t, 32)
	sp.direct.Store(d)
	_ = rx.SetReadDeadline(time.Now().Add(time.Minute))
	p := &stream.Packet{Data: annexB(2083, 2100)}
	buf := make([]byte, 2048)
	var err error
	unit := func() {
		p.PTS += 33 * time.Millisecond
		n, werr := o.write(p, true)
		if werr != nil && err == nil {
			err = werr
		}
		// Each unit is read before the next is written, so that the
		// port's batches never queue up (a queue's batches are made once,
		// when writes first outpace the socket).
		for ; n > 0 && err == nil; n-- {
			_, _, err = rx.ReadFromUDPAddrPort(buf)
		}
	}
	unit()
	allocs := testing.AllocsPerRun(200, unit)
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Fatalf("%v allocations per access unit, want 0", allocs)
	}
}

// BenchmarkSendUnitDirect is the fan-out's send layer: access units of 4
// packets (2083 and 2100 bytes of H.264) written to each of 64 direct
// viewers that share one batched port (32 packets, 1 ms), as the server's
// do, whole (ReserveN) or packet by packet (Reserve each). One op is one
// packet; cpu-ns/pkt is the process's CPU (sealing, the batches and
// sendmmsg with the kernel's loopback delivery). The receivers never
// read: the kernel drops at their sockets, after the same work.
func BenchmarkSendUnitDirect(b *testing.B) {
	for _, unit := range []bool{false, true} {
		name := "packets"
		if unit {
			name = "unit"
		}
		b.Run(name, func(b *testing.B) { benchSendUnitDirect(b, unit) })
	}
}

func benchSendUnitDirect(b *testing.B, unit bool) {
	const viewers = 64
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	bc := udpbatch.New(conn, 32, time.Millisecond)
	port := NewPort(bc)
	b.Cleanup(func() { _ = bc.Close() })
	key, salt := masterKeys(rand.New(rand.NewPCG(1, 1)), 16)
	outs := make([]*rtpOut, viewers)
	for i := range outs {
		sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = sink.Close() })
		o, sp, _ := unitUnderTest(b, "video/H264", unit)
		d := &directOut{conn: port, buf: make([]byte, directBuf), batch: bc}
		if d.seal, err = newRTPSealer(key, salt, true); err != nil {
			b.Fatal(err)
		}
		d.addr.Store(sink.LocalAddr().(*net.UDPAddr))
		sp.direct.Store(d)
		outs[i] = o
	}
	p := &stream.Packet{Data: annexB(2083, 2100)}
	per := len(p.Payloads(outs[0].cut))
	round := func() {
		p.PTS += 33 * time.Millisecond
		for _, o := range outs {
			if _, err := o.write(p, true); err != nil {
				b.Fatal(err)
			}
		}
	}
	for range 10 {
		round()
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for sent := 0; sent < b.N; sent += viewers * per {
		round()
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/pkt")
}
