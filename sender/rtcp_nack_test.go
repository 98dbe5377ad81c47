package sender

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// heard is what a send path's meter handed its hooks.
type heard struct {
	reports []rtcp.ReceptionReport
	nacks   []rtcp.NackPair
	others  []rtcp.Packet
}

// boundPath is a send path with one stream bound (SSRC 7, no
// transport-wide numbers: a resend leaves the meter as it was) and the
// default resend gate, the packets that reached its writer, and what its
// hooks heard.
func boundPath(t testing.TB) (*sendPath, interceptor.RTPWriter, *[]wrote, *heard) {
	i, err := sendPathFactory{}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	s, out, h := i.(*sendPath), new([]wrote), new(heard)
	s.meter.resend = DefaultConfig().Resend
	s.meter.onReport = func(rep rtcp.ReceptionReport, _ time.Time) { h.reports = append(h.reports, rep) }
	s.meter.onNack = func(p rtcp.NackPair) { h.nacks = append(h.nacks, p) }
	s.meter.onRTCP = func(p rtcp.Packet, _ time.Time) { h.others = append(h.others, p) }
	w := s.BindLocalStream(&interceptor.StreamInfo{SSRC: 7, PayloadType: 96}, interceptor.RTPWriterFunc(
		func(h *rtp.Header, pl []byte, _ interceptor.Attributes) (int, error) {
			*out = append(*out, wrote{seq: h.SequenceNumber, payload: pl, padding: h.Padding, padSize: h.PaddingSize})
			return len(pl), nil
		}))
	return s, w, out, h
}

// sendNumbered writes n packets from seq on, one in five padding, each
// payload its own slice of one buffer.
func sendNumbered(t testing.TB, w interceptor.RTPWriter, seq uint16, n int, buf []byte) {
	for i := range n {
		h := rtp.Header{Version: 2, SSRC: 7, PayloadType: 96, SequenceNumber: seq + uint16(i)}
		pl := buf[i%len(buf) : i%len(buf)+1]
		if i%5 == 4 {
			h.Padding, h.PaddingSize, pl = true, 200, nil
		}
		if _, err := w.Write(&h, pl, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// sameWrites says whether two writers got the same packets, payloads
// shared alike.
func sameWrites(a, b []wrote) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.seq != y.seq || x.padding != y.padding || x.padSize != y.padSize || len(x.payload) != len(y.payload) ||
			len(x.payload) > 0 && &x.payload[0] != &y.payload[0] {
			return false
		}
	}
	return true
}

// A NACK walked from its bytes is answered with exactly the packets the
// parsed NACK is answered with, and the viewer hears the same pairs, the
// same reception reports and the same RTT.
func TestNackBytesMatchesParsed(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	parsed, pw, pout, pheard := boundPath(t)
	walked, ww, wout, wheard := boundPath(t)
	buf := make([]byte, 64)
	const first = 65000 // across the wrap
	sendNumbered(t, pw, first, 1500, buf)
	sendNumbered(t, ww, first, 1500, buf)
	now := time.Now()
	for i := range 400 {
		now = now.Add(time.Duration(r.IntN(30)) * time.Millisecond)
		nack := &rtcp.TransportLayerNack{MediaSSRC: 7}
		if i%10 == 0 {
			nack.MediaSSRC = 8 // no such stream
		}
		for range 1 + r.IntN(4) {
			// Some held, some gone from the ring, some not sent yet.
			pid := first + uint16(r.IntN(1700))
			nack.Nacks = append(nack.Nacks, rtcp.NackPair{PacketID: pid, LostPackets: rtcp.PacketBitmap(r.Uint32())})
		}
		// A report whose RTT is 40 ms plus up to 100.
		sr := ntpTime(now.Add(-time.Duration(40+r.IntN(100))*time.Millisecond - 500*time.Millisecond))
		rr := &rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 7, FractionLost: uint8(i), LastSenderReport: uint32(sr >> 16), Delay: 65536 / 2}}}
		pli := &rtcp.PictureLossIndication{MediaSSRC: 7}
		raw := mustMarshal(t, rr, nack, pli)
		pkts, err := rtcp.Unmarshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		parsed.onRTCP(pkts, now)
		if !walked.onRTCPBytes(raw, now) {
			t.Fatalf("NACK %d refused", i)
		}
		if !sameWrites(*pout, *wout) {
			t.Fatalf("after NACK %d (%v) the walk resent %d packets, the parse %d, or others", i, nack.Nacks, len(*wout), len(*pout))
		}
		if walked.rtt.Load() != parsed.rtt.Load() || walked.rtt.Load() == 0 {
			t.Fatalf("RTT %v walked, %v parsed", time.Duration(walked.rtt.Load()), time.Duration(parsed.rtt.Load()))
		}
	}
	if !reflect.DeepEqual(pheard, wheard) {
		t.Fatalf("the hooks heard %d reports, %d pairs, %d others walked; %d, %d, %d parsed",
			len(wheard.reports), len(wheard.nacks), len(wheard.others), len(pheard.reports), len(pheard.nacks), len(pheard.others))
	}
	if len(*wout) < 1500+300 || len(wheard.others) != 400 {
		t.Fatalf("%d resends, %d PLIs heard: the test did not exercise the walk", len(*wout)-1500, len(wheard.others))
	}
}
