package sender

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// meterState is what a link meter learned from feedback, comparable.
type meterState struct {
	sent                                      [meterRing]sentPacket
	recv                                      [meterRing]recvPacket
	nRecv                                     int
	baseMin, baseAt                           [meterBaseBuckets]int64
	baseFirst                                 bool
	excessSum                                 int64
	excessN, lost, reported, lostRecent       int
	lastAckAt, lastAckEnd, lastAckCum, lastEx int64
}

func stateOf(m *linkMeter) *meterState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &meterState{m.sent, m.recv, m.nRecv, m.baseMin, m.baseAt, m.baseFirst, m.excessSum,
		m.excessN, m.lost, m.reported, m.lostRecent, m.lastAckAt, m.lastAckEnd, m.lastAckCum, m.lastExcess}
}

// randomFeedback builds, with pion, a feedback packet of a random mix of
// chunks whose status count may end inside the last one, with deltas of
// every size, both signs, and past a small delta's range.
func randomFeedback(r *rand.Rand, base uint16) *rtcp.TransportLayerCC {
	fb := &rtcp.TransportLayerCC{MediaSSRC: 7, BaseSequenceNumber: base, ReferenceTime: r.Uint32N(1 << 24), FbPktCount: uint8(r.Uint32())}
	var syms []uint16 // every status the chunks give
	for range 1 + r.IntN(12) {
		switch r.IntN(3) {
		case 0:
			sym := uint16(r.IntN(4))
			n := uint16(r.IntN(40))
			if r.IntN(20) == 0 {
				n = uint16(r.IntN(8192))
			}
			fb.PacketChunks = append(fb.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: sym, RunLength: n})
			for range n {
				syms = append(syms, sym)
			}
		case 1:
			c := &rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeOneBit}
			for range 14 {
				c.SymbolList = append(c.SymbolList, uint16(r.IntN(2)))
			}
			fb.PacketChunks = append(fb.PacketChunks, c)
			syms = append(syms, c.SymbolList...)
		default:
			c := &rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit}
			for range 7 {
				c.SymbolList = append(c.SymbolList, uint16(r.IntN(4)))
			}
			fb.PacketChunks = append(fb.PacketChunks, c)
			syms = append(syms, c.SymbolList...)
		}
	}
	// The count ends somewhere in the last chunk that gives a status.
	last := len(syms)
	for last > 0 {
		if rl, ok := fb.PacketChunks[len(fb.PacketChunks)-1].(*rtcp.RunLengthChunk); !ok || rl.RunLength > 0 {
			break
		}
		fb.PacketChunks = fb.PacketChunks[:len(fb.PacketChunks)-1]
	}
	if len(fb.PacketChunks) == 0 || last == 0 {
		return randomFeedback(r, base)
	}
	lastSize := 0
	switch c := fb.PacketChunks[len(fb.PacketChunks)-1].(type) {
	case *rtcp.RunLengthChunk:
		lastSize = int(c.RunLength)
	case *rtcp.StatusVectorChunk:
		lastSize = len(c.SymbolList)
	}
	count := last - lastSize + 1 + r.IntN(lastSize)
	fb.PacketStatusCount = uint16(count)
	for _, sym := range syms[:count] {
		switch sym {
		case rtcp.TypeTCCPacketReceivedSmallDelta:
			fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: sym, Delta: 250 * r.Int64N(256)})
		case rtcp.TypeTCCPacketReceivedLargeDelta:
			fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: sym, Delta: 250 * (r.Int64N(65536) - 32768)})
		}
	}
	fb.Header = rtcp.Header{Type: rtcp.TypeTransportSpecificFeedback, Count: rtcp.FormatTCC}
	size := fb.MarshalSize()
	fb.Header.Length = uint16(size/4 - 1)
	fb.Header.Padding = size != 20+2*len(fb.PacketChunks)+deltaBytes(fb)
	return fb
}

func deltaBytes(fb *rtcp.TransportLayerCC) int {
	n := 0
	for _, d := range fb.RecvDeltas {
		n += deltaSize(d.Type)
	}
	return n
}

// sendAll tells each meter of packets sent from base on, count of them
// and a few more, some of them not (as a probe's padding from another
// path would be).
func sendAll(r *rand.Rand, at time.Time, base uint16, count int, ms ...*linkMeter) {
	for i := range count + 8 {
		if r.IntN(10) == 0 {
			continue
		}
		size := 100 + r.IntN(1100)
		for _, m := range ms {
			m.onSend(base+uint16(i), size, at.Add(time.Duration(i)*time.Millisecond))
		}
	}
}

// Walked from its bytes, through the compound walk, every feedback packet
// leaves the meter as pion's parse walked by onFeedback leaves it.
func TestFeedbackBytesMatchesParsed(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	parsed, _ := sendPathFactory{}.NewInterceptor("")
	walked, _ := sendPathFactory{}.NewInterceptor("")
	pm, wm := parsed.(*sendPath).meter, walked.(*sendPath).meter
	wm.start = pm.start
	at := pm.start
	base := uint16(65000) // across the wrap soon
	compared := 0
	for i := range 3000 {
		fb := randomFeedback(r, base)
		raw, err := fb.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Duration(r.IntN(80)) * time.Millisecond)
		sendAll(r, at, base, int(fb.PacketStatusCount), pm, wm)
		base += uint16(r.IntN(int(fb.PacketStatusCount) + 1))
		if i%3 == 0 { // in a compound packet, after a receiver report
			raw = append(mustMarshal(t, &rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 7}}}), raw...)
		}
		pkts, err := rtcp.Unmarshal(raw)
		if err != nil {
			// pion refuses a packet whose last chunk ends the packet,
			// with no deltas and no padding after it; the walk takes it.
			aside, _ := (sendPathFactory{}).NewInterceptor("")
			if !aside.(*sendPath).onRTCPBytes(raw, at) {
				t.Fatalf("packet %d refused: %v", i, fb)
			}
			continue
		}
		if !walked.(*sendPath).onRTCPBytes(raw, at) {
			t.Fatalf("packet %d refused: %v", i, fb)
		}
		parsed.(*sendPath).onRTCP(pkts, at)
		if *stateOf(pm) != *stateOf(wm) {
			t.Fatalf("packet %d: the meters differ after %v", i, fb)
		}
		compared++
	}
	if compared < 2900 || pm.nRecv < 10000 || pm.lost == 0 {
		t.Fatalf("compared %d packets, %d arrivals: the test did not exercise the walk", compared, pm.nRecv)
	}
}

func mustMarshal(t testing.TB, ps ...rtcp.Packet) []byte {
	t.Helper()
	b, err := rtcp.Marshal(ps)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
