package sender

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// sendPath is a viewer PeerConnection's own interceptor for what pion's
// transport-wide sequence number interceptor and NACK responder do, without
// their per-packet allocations and copies:
//
//   - it numbers every packet of a stream that negotiated transport-cc,
//     writing the extension in place;
//   - it keeps, per stream, the latest resendRing packets as the header
//     fields and the payload slice, which is shared by every viewer of the
//     rung and never modified (stream.Packet.Payloads), so nothing is copied;
//   - it answers a NACK by sending the packet again (through the link meter,
//     which gates resends), at most once per RTT for the same packet; a
//     probe's padding packet lost is answered by a one-byte padding packet
//     of the same number, since the browser assembles frames only over
//     unbroken sequence numbers, and a hole left by lost padding stalls the
//     picture until the next keyframe.
//
// One instance serves one PeerConnection; it sits where pion's NACK
// responder sits, before the congestion controller and the link meter.
type sendPath struct {
	interceptor.NoOp
	meter   *linkMeter    // told of every packet sent and every feedback
	twccSeq atomic.Uint32 // transport-wide, shared by the PeerConnection's streams

	mu      sync.Mutex
	streams map[uint32]*sentStream // by SSRC
	rtt     atomic.Int64           // ns, from receiver reports

	// bottom says the writer below is pion's SRTP session (no congestion
	// controller in between), which a direct writer may stand in for.
	bottom bool
	direct atomic.Pointer[directOut] // nil: packets go to pion's writer
}

// twccExtSize is what the transport-wide sequence number adds to a header
// that has no other extension.
const twccExtSize = 8

// resendRing is how many packets of a stream can be sent again: over a
// second of a 5 Mb/s rung.
const resendRing = 1024

type sentRecord struct {
	seq     uint16
	ts      uint32
	marker  bool
	valid   bool
	padding bool // a padding-only packet: answered with a one-byte one
	payload []byte
	resent  time.Time // the latest resend
	// vp8 says the payload is a VP8 payload (vp8.go) sent with picture
	// ID pid and TL0PICIDX tl0, as a resend must be too.
	vp8 bool
	pid uint16
	tl0 uint8
}

type sentStream struct {
	ssrc   uint32
	pt     uint8
	twccID uint8
	next   interceptor.RTPWriter

	// attr is lent to the writer below for each packet (the congestion
	// controller sets a key in it, and would make a map per packet
	// otherwise); a second writer at the same time makes its own.
	attr     interceptor.Attributes
	attrBusy atomic.Bool

	// pics numbers the frames of a VP8 stream for this viewer (nil for
	// other codecs): the shared payloads carry no picture ID of their own.
	pics *vp8Pictures
	// wbuf and rbuf hold a VP8 payload being written with its picture ID:
	// wbuf for first sends (the viewer's loop), rbuf for resends.
	wbuf, rbuf *vp8Buf
	// resendHdr is what a resend goes out under (rtcp_resend.go).
	resendHdr resendHdrs

	mu   sync.Mutex
	sr   srState // what the next sender report says (reports.go)
	ring [resendRing]sentRecord
	ext  [resendRing][2]byte // each record's transport-wide sequence number, as written
}

// sendPathFactory makes each PeerConnection's send path with its link
// meter, and hands the meter to onNew (the viewer picks it up under
// Server.ccMu, as the cc interceptor hands its estimator).
type sendPathFactory struct {
	resend ResendConfig
	bottom bool // nothing sits between the send path and SRTP
	onNew  func(*linkMeter, *sendPath)
}

func (f sendPathFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	m := newLinkMeter(f.resend)
	s := &sendPath{meter: m, streams: map[uint32]*sentStream{}, bottom: f.bottom}
	if f.onNew != nil {
		f.onNew(m, s)
	}
	return s, nil
}

// useDirect has d send every packet from now on, instead of pion's SRTP
// session; it is refused when an interceptor below the send path (the
// congestion controller) must see the packets.
func (s *sendPath) useDirect(d *directOut) error {
	if !s.bottom {
		return errNotDirect("estimator gcc")
	}
	s.direct.Store(d)
	return nil
}

// BindLocalStream records each packet and numbers it.
func (s *sendPath) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	st := &sentStream{ssrc: info.SSRC, pt: info.PayloadType, next: w, attr: interceptor.Attributes{}}
	st.sr.clock = info.ClockRate
	if isVP8(info.MimeType) {
		var b [3]byte
		_, _ = rand.Read(b[:])
		st.pics = &vp8Pictures{pid: binary.BigEndian.Uint16(b[:2]) & 0x7fff, tl0: b[2]}
		st.wbuf, st.rbuf = new(vp8Buf), new(vp8Buf)
	}
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI && e.ID > 0 && e.ID < 15 {
			st.twccID = uint8(e.ID)
		}
	}
	s.mu.Lock()
	s.streams[info.SSRC] = st
	s.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		st.mu.Lock()
		rec, ext := st.record(h, payload)
		st.mu.Unlock()
		return s.sendRecord(st, h, &rec, a, ext, st.wbuf)
	})
}

// record keeps a packet sent for the first time in the ring, counts it
// for the sender reports and gives a VP8 payload its picture; it returns
// the record and the storage of the packet's transport-wide number.
// st.mu is held.
func (st *sentStream) record(h *rtp.Header, payload []byte) (sentRecord, []byte) {
	i := h.SequenceNumber % resendRing
	r := &st.ring[i]
	*r = sentRecord{seq: h.SequenceNumber, ts: h.Timestamp, marker: h.Marker, valid: true, padding: h.Padding, payload: payload}
	st.sr.sent(h.Timestamp, len(payload))
	if st.pics != nil && !h.Padding {
		if ok, first := vp8Layout(payload); ok {
			if first {
				st.pics.next()
			}
			r.vp8, r.pid, r.tl0 = true, st.pics.pid, st.pics.tl0
		}
	}
	return *r, st.ext[i][:]
}

// sendRecord numbers h, when its stream uses transport-wide numbers, with
// ext as the extension's storage, tells the link meter, and sends r's
// payload under h.
func (s *sendPath) sendRecord(st *sentStream, h *rtp.Header, r *sentRecord, a interceptor.Attributes, ext []byte, buf *vp8Buf) (int, error) {
	if st.twccID != 0 {
		seq := uint16(s.twccSeq.Add(1) - 1)
		if err := st.number(h, ext, seq); err != nil {
			return 0, err
		}
		s.meter.onSend(seq, h.MarshalSize()+len(r.payload)+int(h.PaddingSize), time.Now())
	}
	return s.outRecord(st, h, r, a, buf)
}

// number writes seq, the transport-wide sequence number, into ext and
// puts ext on h.
func (st *sentStream) number(h *rtp.Header, ext []byte, seq uint16) error {
	binary.BigEndian.PutUint16(ext, seq)
	return h.SetExtension(st.twccID, ext)
}

// outRecord writes r's payload on under h, with its picture ID written
// (in buf) when it is a VP8 payload.
func (s *sendPath) outRecord(st *sentStream, h *rtp.Header, r *sentRecord, a interceptor.Attributes, buf *vp8Buf) (int, error) {
	if !r.vp8 {
		return s.out(st, h, r.payload, a)
	}
	pl := buf.withPicture(r.payload, r.pid, r.tl0)
	n, err := s.out(st, h, pl, a)
	buf.release(pl)
	return n, err
}

// out writes h and payload on: to the direct writer when there is one,
// else to pion's writer below, with a as the packet's attributes (nil:
// the stream's own map, or a new one when that is lent).
func (s *sendPath) out(st *sentStream, h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	if d := s.direct.Load(); d != nil {
		return d.write(h, payload)
	}
	if a == nil {
		if !st.attrBusy.CompareAndSwap(false, true) {
			return st.next.Write(h, payload, interceptor.Attributes{})
		}
		defer func() {
			clear(st.attr)
			st.attrBusy.Store(false)
		}()
		a = st.attr
	}
	return st.next.Write(h, payload, a)
}

// UnbindLocalStream forgets a stream.
func (s *sendPath) UnbindLocalStream(info *interceptor.StreamInfo) {
	s.mu.Lock()
	delete(s.streams, info.SSRC)
	s.mu.Unlock()
}

// BindRTCPReader hands each compound RTCP packet, parsed (the parse is kept
// in the attributes for the interceptors after), to the link meter, answers
// NACKs and follows the RTT. A packet that does not parse is passed on
// unseen.
func (s *sendPath) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := r.Read(b, a)
		if err != nil {
			return n, attr, err
		}
		if attr == nil {
			attr = interceptor.Attributes{}
		}
		pkts, perr := attr.GetRTCPPackets(b[:n])
		if perr != nil {
			return n, attr, err
		}
		s.onRTCP(pkts, time.Now())
		return n, attr, err
	})
}

// onRTCP takes one compound RTCP packet from the viewer, parsed (through
// pion; onRTCPBytes takes a direct viewer's unparsed): the link meter reads
// it, receiver reports give the RTT, NACKs are answered.
func (s *sendPath) onRTCP(pkts []rtcp.Packet, now time.Time) {
	s.meter.observe(pkts, now)
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.ReceiverReport:
			for _, rep := range p.Reports {
				s.onReport(rep, now)
			}
		case *rtcp.TransportLayerNack:
			s.resend(p, now)
		}
	}
}

// onReport follows the RTT a reception report gives.
func (s *sendPath) onReport(rep rtcp.ReceptionReport, now time.Time) {
	if rtt, ok := reportRTT(rep, now); ok {
		s.rtt.Store(int64(rtt))
	}
}

// resend sends again what a NACK asks for and the ring still holds.
func (s *sendPath) resend(nack *rtcp.TransportLayerNack, now time.Time) {
	st := s.stream(nack.MediaSSRC)
	if st == nil {
		return
	}
	for _, pair := range nack.Nacks {
		s.resendPair(st, pair, now)
	}
}

// resendPair sends again what one NACK pair of st asks for and the ring
// still holds.
func (s *sendPath) resendPair(st *sentStream, pair rtcp.NackPair, now time.Time) {
	gap := time.Duration(s.rtt.Load()) + 5*time.Millisecond
	pair.Range(func(seq uint16) bool {
		s.resendSeq(st, seq, gap, now)
		return true
	})
}

// resendSeq sends packet seq of st again, unless the ring no longer holds
// it, it went again less than gap ago, or the link meter holds it back.
func (s *sendPath) resendSeq(st *sentStream, seq uint16, gap time.Duration, now time.Time) {
	st.mu.Lock()
	r := st.ring[seq%resendRing]
	ok := r.valid && r.seq == seq && now.Sub(r.resent) >= gap
	if ok {
		st.ring[seq%resendRing].resent = now
	}
	st.mu.Unlock()
	if !ok {
		return
	}
	rh := st.resendHdr.take()
	defer st.resendHdr.release(rh)
	h := &rh.h
	*h = rtp.Header{Version: 2, SSRC: st.ssrc, PayloadType: st.pt, SequenceNumber: r.seq, Timestamp: r.ts, Marker: r.marker, Extensions: h.Extensions[:0]}
	if r.padding {
		h.Padding, h.PaddingSize = true, 1
	}
	size := h.MarshalSize() + len(r.payload) + int(h.PaddingSize)
	if st.twccID != 0 {
		size += twccExtSize
	}
	if !s.meter.admitResend(r.seq, r.padding, size, now) {
		return
	}
	_, _ = s.sendRecord(st, h, &r, nil, rh.ext[:], st.rbuf)
}
