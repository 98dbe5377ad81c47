package sender

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

type wrote struct {
	seq, twcc uint16
	payload   []byte
	padding   bool
	padSize   byte
}

// sendPathUnderTest binds one video stream (SSRC 7, transport-cc id 3) and
// returns its writer, a function that feeds an RTCP packet to the NACK
// side, and what reached the network side.
func sendPathUnderTest(t *testing.T) (interceptor.RTPWriter, func(rtcp.Packet), *[]wrote) {
	t.Helper()
	i, err := sendPathFactory{}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	var out []wrote
	info := &interceptor.StreamInfo{SSRC: 7, PayloadType: 102, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}}}
	w := i.BindLocalStream(info, interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if a == nil {
			t.Error("no attributes map handed on: the congestion controller would make one per packet")
		}
		ext := h.GetExtension(3)
		if len(ext) != 2 {
			t.Fatalf("packet %d has no transport-wide number", h.SequenceNumber)
		}
		out = append(out, wrote{seq: h.SequenceNumber, twcc: binary.BigEndian.Uint16(ext), payload: payload, padding: h.Padding, padSize: h.PaddingSize})
		return len(payload), nil
	}))
	var pending []byte
	r := i.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, pending), a, nil
	}))
	feed := func(p rtcp.Packet) {
		var err error
		if pending, err = p.Marshal(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Read(make([]byte, 1500), nil); err != nil {
			t.Fatal(err)
		}
	}
	return w, feed, &out
}

func TestSendPathNumbersAndResends(t *testing.T) {
	w, feed, out := sendPathUnderTest(t)
	payloads := [][]byte{[]byte("first"), []byte("second"), []byte("third")}
	h := rtp.Header{Version: 2, SSRC: 7, PayloadType: 102}
	for i, pl := range payloads {
		h.SequenceNumber = uint16(65534 + i) // across the wrap
		if _, err := w.Write(&h, pl, nil); err != nil {
			t.Fatal(err)
		}
	}
	h.SequenceNumber, h.Padding, h.PaddingSize = 1, true, 255
	if _, err := w.Write(&h, nil, nil); err != nil {
		t.Fatal(err)
	}
	// The receiver lost the second packet and the probe's padding.
	feed(&rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{65535, 1})})
	if len(*out) != 6 {
		t.Fatalf("%d packets reached the network, want 4 and two resends", len(*out))
	}
	re := (*out)[4]
	if re.seq != 65535 || !bytes.Equal(re.payload, payloads[1]) || re.padding {
		t.Fatalf("resent %+v, want the second packet again", re)
	}
	// Lost padding is answered with the least padding packet of its
	// number: the browser's frames go on only over unbroken numbers.
	if pad := (*out)[5]; pad.seq != 1 || !pad.padding || pad.padSize != 1 || len(pad.payload) != 0 {
		t.Fatalf("resent %+v, want a one-byte padding packet numbered 1", pad)
	}
	// The payload is the shared one, not a copy.
	if &re.payload[0] != &payloads[1][0] {
		t.Error("the resend copied the payload")
	}
	for i, p := range *out {
		if p.twcc != uint16(i) {
			t.Fatalf("packet %d has transport-wide number %d: every packet, resends too, takes the next", i, p.twcc)
		}
	}
	// The same NACK again at once (within an RTT): not sent twice.
	feed(&rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{65535})})
	if len(*out) != 6 {
		t.Fatalf("a repeated NACK within the RTT was answered again")
	}
	// Another stream's NACK, and a packet long gone, are not answered.
	feed(&rtcp.TransportLayerNack{MediaSSRC: 8, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{65534})})
	feed(&rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{65534 - resendRing})})
	if len(*out) != 6 {
		t.Fatalf("answered a NACK for another stream or a packet out of the ring")
	}
}

func TestSendPathWriteAllocs(t *testing.T) {
	i, _ := sendPathFactory{}.NewInterceptor("")
	info := &interceptor.StreamInfo{SSRC: 7, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}}}
	w := i.BindLocalStream(info, interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		a.Set("k", 1) // as the congestion controller does
		return len(payload), nil
	}))
	h := rtp.Header{Version: 2, SSRC: 7}
	pl := make([]byte, 1200)
	if n := testing.AllocsPerRun(1000, func() {
		h.SequenceNumber++
		_, _ = w.Write(&h, pl, nil)
	}); n != 0 {
		t.Fatalf("%v allocations per packet, want 0", n)
	}
}
