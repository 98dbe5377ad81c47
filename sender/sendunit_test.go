package sender

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"

	"github.com/mutstream/mutstream/stream"
)

// sentOut is one packet as it reached the writer below the send path.
type sentOut struct {
	seq, twcc uint16
	ts        uint32
	marker    bool
	payload   string
}

// trackWriter is the PeerConnection's writer for a bound track: it
// hands each packet to the send path's writer, as pion's does.
type trackWriter struct{ w interceptor.RTPWriter }

func (t trackWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	return t.w.Write(h, payload, nil)
}
func (t trackWriter) Write(b []byte) (int, error) { return len(b), nil }

// unitUnderTest returns an rtpOut on a send path whose writer records
// what it is handed; unit says whether access units go whole.
func unitUnderTest(t testing.TB, mime string, unit bool) (*rtpOut, *sendPath, *[]sentOut) {
	t.Helper()
	i, err := sendPathFactory{}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	sp := i.(*sendPath)
	var out []sentOut
	info := &interceptor.StreamInfo{SSRC: 7, PayloadType: 102, MimeType: mime, ClockRate: 90000,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}}}
	w := sp.BindLocalStream(info, interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
		ext := h.GetExtension(3)
		if len(ext) != 2 || h.SSRC != 7 || h.PayloadType != 102 {
			t.Fatalf("packet %d: SSRC %d, payload type %d, transport-wide extension %x", h.SequenceNumber, h.SSRC, h.PayloadType, ext)
		}
		// A VP8 payload is written in a buffer used again: keep a copy.
		out = append(out, sentOut{seq: h.SequenceNumber, twcc: binary.BigEndian.Uint16(ext), ts: h.Timestamp, marker: h.Marker, payload: string(payload)})
		return len(payload), nil
	}))
	// The stream's picture IDs start from the same place on both paths.
	if st := sp.stream(7); st.pics != nil {
		st.pics.pid, st.pics.tl0 = 100, 5
	}
	track := &BoundTrack{}
	track.b.Store(&trackBinding{w: trackWriter{w}, ssrc: 7, pt: 102})
	cut := cutH264
	if isVP8(mime) {
		cut = cutVP8
	}
	o := newRTPOut(track, cut, 90000, 3000)
	o.seq, o.lastTS = 65530, 1000 // across the wrap
	if unit {
		o.unit = sp
	}
	return o, sp, &out
}

// annexB is an access unit of NAL units of the sizes given.
func annexB(sizes ...int) []byte {
	var b []byte
	for i, n := range sizes {
		b = append(b, 0, 0, 0, 1, 0x61)
		b = append(b, bytes.Repeat([]byte{byte(i + 1)}, n-1)...)
	}
	return b
}

// TestSendUnitAsPacketByPacket: an access unit sent whole reaches the
// network, the resend ring, the sender reports and the link meter as it
// does packet by packet, paced or not, H.264 or VP8.
func TestSendUnitAsPacketByPacket(t *testing.T) {
	for _, mime := range []string{"video/H264", "video/VP8"} {
		for _, paced := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/paced=%v", mime, paced), func(t *testing.T) {
				var outs [2]*[]sentOut
				var sps [2]*sendPath
				for k, unit := range []bool{false, true} {
					o, sp, out := unitUnderTest(t, mime, unit)
					outs[k], sps[k] = out, sp
					clock := time.Unix(100, 0)
					if paced {
						o.pace = newPacer()
						o.pace.now = func() time.Time { return clock }
						o.pace.setRate(2_000_000)
					}
					for i, sizes := range [][]int{{30000, 9000}, {2083, 2100}, {500}, {1199, 1200, 1201}, {4000}} {
						p := &stream.Packet{Data: annexB(sizes...), PTS: time.Duration(i) * 33 * time.Millisecond, Keyframe: i == 0}
						if n, err := o.write(p, true); err != nil || n != len(p.Payloads(o.cut)) {
							t.Fatalf("unit=%v: access unit %d: %d packets, %v", unit, i, n, err)
						}
						clock = clock.Add(33 * time.Millisecond)
						if err := o.flush(clock); err != nil {
							t.Fatal(err)
						}
					}
					clock = clock.Add(time.Second)
					if err := o.flush(clock); err != nil || o.backlog() != 0 {
						t.Fatalf("unit=%v: backlog %d after a second, %v", unit, o.backlog(), err)
					}
				}
				byPacket, whole := *outs[0], *outs[1]
				if len(byPacket) < 20 || len(whole) != len(byPacket) {
					t.Fatalf("%d packets whole, %d packet by packet", len(whole), len(byPacket))
				}
				for i := range byPacket {
					if whole[i] != byPacket[i] {
						t.Fatalf("packet %d: whole %+v, packet by packet %+v", i, whole[i], byPacket[i])
					}
				}
				a, b := sps[0].stream(7), sps[1].stream(7)
				for i := range a.ring {
					ra, rb := a.ring[i], b.ring[i]
					if ra.seq != rb.seq || ra.ts != rb.ts || ra.marker != rb.marker || ra.valid != rb.valid ||
						!bytes.Equal(ra.payload, rb.payload) || ra.vp8 != rb.vp8 || ra.pid != rb.pid || ra.tl0 != rb.tl0 || a.ext[i] != b.ext[i] {
						t.Fatalf("resend ring slot %d: whole %+v, packet by packet %+v", i, rb, ra)
					}
				}
				if a.sr.packets != b.sr.packets || a.sr.octets != b.sr.octets || a.sr.lastTS != b.sr.lastTS {
					t.Fatalf("sender report state: whole %+v, packet by packet %+v", b.sr, a.sr)
				}
				ma, mb := sps[0].meter, sps[1].meter
				if ma.sentBytes != mb.sentBytes {
					t.Fatalf("link meter: %d bytes sent whole, %d packet by packet", mb.sentBytes, ma.sentBytes)
				}
				for i := range ma.sent {
					pa, pb := ma.sent[i], mb.sent[i]
					if pa.seq != pb.seq || pa.size != pb.size || pa.cum != pb.cum || pa.valid != pb.valid {
						t.Fatalf("link meter slot %d: whole %+v, packet by packet %+v", i, pb, pa)
					}
				}
			})
		}
	}
}

// TestSendUnitAllocs: sending an access unit whole allocates nothing.
func TestSendUnitAllocs(t *testing.T) {
	o, _, _ := unitUnderTest(t, "video/H264", true)
	o.unit.direct.Store(nil)
	st := o.unitStream(o.track.b.Load())
	st.next = interceptor.RTPWriterFunc(func(_ *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
		return len(payload), nil
	})
	p := &stream.Packet{Data: annexB(2083, 2100)}
	_, _ = o.write(p, true)
	if n := testing.AllocsPerRun(1000, func() {
		p.PTS += 33 * time.Millisecond
		_, _ = o.write(p, true)
	}); n != 0 {
		t.Fatalf("%v allocations per access unit, want 0", n)
	}
}
