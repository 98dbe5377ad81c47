package sender

import (
	"encoding/binary"
	"reflect"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/metrics"
)

// rtcpRejected reads mediad_viewer_rtcp_rejected_total{reason="parse"}.
func rtcpRejected() float64 {
	return testutil.ToFloat64(metrics.ViewerRTCPRejected.WithLabelValues("parse"))
}

// compoundSample is a compound packet of every kind the walk reads
// itself, and one it leaves to pion.
func compoundSample(t testing.TB) []byte {
	fb := &rtcp.TransportLayerCC{
		Header:             rtcp.Header{Type: rtcp.TypeTransportSpecificFeedback, Count: rtcp.FormatTCC, Length: 7},
		MediaSSRC:          7,
		BaseSequenceNumber: 2,
		PacketStatusCount:  20,
		ReferenceTime:      100,
		PacketChunks: []rtcp.PacketStatusChunk{
			&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 6},
			&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit, SymbolList: []uint16{1, 2, 0, 1, 3, 0, 1}},
			&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeOneBit, SymbolList: []uint16{1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		},
	}
	for _, ty := range []uint16{1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1} {
		fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: ty, Delta: 250 * int64(ty) * 3})
	}
	fb.Header.Length = uint16(fb.MarshalSize()/4 - 1)
	fb.Header.Padding = fb.MarshalSize() != 20+6+deltaBytes(fb)
	return mustMarshal(t,
		&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 7, FractionLost: 9, LastSenderReport: 5, Delay: 6}}},
		fb,
		&rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: []rtcp.NackPair{{PacketID: 3, LostPackets: 5}}},
		&rtcp.PictureLossIndication{MediaSSRC: 7})
}

// fuzzPath is a bound send path that has sent packets 0 to 63, their
// payloads in buf, and told its meter, at times from start.
func fuzzPath(t testing.TB, start time.Time, buf []byte) (*sendPath, *[]wrote, *heard) {
	s, w, out, h := boundPath(t)
	s.meter.start = start
	sendNumbered(t, w, 0, 64, buf)
	for i := range 64 {
		s.meter.onSend(uint16(i), 500, start.Add(time.Duration(i)*time.Millisecond))
	}
	*out = (*out)[:0]
	return s, out, h
}

// checkWalk hands b to a send path's byte walk, and to another's parse
// when pion parses it: a packet refused is counted and changes nothing; a
// packet pion parses is not refused, and leaves the meter, the resends
// and the hooks as the parse leaves them.
func checkWalk(t *testing.T, b []byte) (taken bool) {
	start := time.Now()
	now, buf := start.Add(time.Second), make([]byte, 8)
	walked, wout, wheard := fuzzPath(t, start, buf)
	before, rejected := stateOf(walked.meter), rtcpRejected()
	taken = walked.onRTCPBytes(b, now)
	pkts, perr := rtcp.Unmarshal(b)
	if !taken {
		if perr == nil {
			t.Fatalf("pion parses %x, the walk refused it", b)
		}
		if rtcpRejected() != rejected+1 {
			t.Fatalf("%x refused and not counted", b)
		}
		if *stateOf(walked.meter) != *before || len(*wout) != 0 || !reflect.DeepEqual(*wheard, heard{}) {
			t.Fatalf("%x refused, yet taken in part", b)
		}
		return false
	}
	if perr != nil {
		return true // the walk is laxer: SDES unread, a feedback's last chunk at its end
	}
	parsed, pout, pheard := fuzzPath(t, start, buf)
	parsed.onRTCP(pkts, now)
	if *stateOf(walked.meter) != *stateOf(parsed.meter) || !sameWrites(*wout, *pout) || !reflect.DeepEqual(wheard, pheard) {
		t.Fatalf("%x walked differs from its parse", b)
	}
	return true
}

// Packets cut short or broken anywhere are refused whole and counted,
// without a panic; the packets they were cut from are taken.
func TestRTCPBytesRefusesMalformed(t *testing.T) {
	good := compoundSample(t)
	if !checkWalk(t, good) {
		t.Fatal("the sample is refused")
	}
	for n := range len(good) {
		checkWalk(t, good[:n])
	}
	fbAt := 4 + 4 + 24 // after the receiver report
	corrupt := map[string]func(b []byte){
		"version 1":                func(b []byte) { b[0] = 1<<6 | b[0]&0x3f },
		"length past the end":      func(b []byte) { b[3]++ },
		"more reports than blocks": func(b []byte) { b[0]++ },
		"feedback chunks run out":  func(b []byte) { binary.BigEndian.PutUint16(b[fbAt+fbCount:], 60000) },
		"feedback short":           func(b []byte) { binary.BigEndian.PutUint16(b[fbAt+2:], 3) },
		"NACK without a pair":      func(b []byte) { nackAt := fbAt + len(b) - fbAt - 28; binary.BigEndian.PutUint16(b[nackAt+2:], 2) },
		"PLI too short after the rest": func(b []byte) {
			binary.BigEndian.PutUint16(b[len(b)-12+2:], 1)
		},
	}
	for name, f := range corrupt {
		b := append([]byte(nil), good...)
		f(b)
		if checkWalk(t, b) {
			t.Errorf("%s: taken", name)
		}
	}
	for name, b := range map[string][]byte{
		"empty":                      {},
		"trailing junk":              append(append([]byte(nil), good...), 0x80, 0xc9),
		"feedback of a header alone": {0x8f, 0xcd, 0, 0},
		// Six small deltas counted, two there.
		"feedback deltas cut": {0x8f, 0xcd, 0, 5, 0, 0, 0, 1, 0, 0, 0, 7, 0, 2, 0, 6, 0, 0, 1, 0, 0x20, 6, 1, 1},
	} {
		if checkWalk(t, b) {
			t.Errorf("%s: taken", name)
		}
	}
}

func FuzzRTCPBytes(f *testing.F) {
	good := compoundSample(f)
	f.Add(good)
	off := 0
	for pkt, rest, ok := nextRTCP(good); ok; pkt, rest, ok = nextRTCP(rest) {
		f.Add(pkt) // each alone
		f.Add(good[:off+len(pkt)-1])
		off += len(pkt)
	}
	f.Add(mustMarshal(f, &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 1, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "x"}}}}}))
	f.Add(mustMarshal(f, &rtcp.FullIntraRequest{MediaSSRC: 7, FIR: []rtcp.FIREntry{{SSRC: 7}}}, &rtcp.Goodbye{Sources: []uint32{1}}))
	f.Fuzz(func(t *testing.T, b []byte) { checkWalk(t, b) })
}
