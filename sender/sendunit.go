package sender

import (
	"time"

	"github.com/pion/rtp"
)

// A direct viewer's access unit goes to the send path whole (sendUnit):
// its packets are recorded under one lock of the stream, numbered in one
// step, told to the link meter under one lock of the meter at one time,
// and written one after the other. Packet by packet, through pion's
// writer, each of them took those locks and read the clock again: at
// hundreds of viewers, each packet a cache miss on another viewer's
// state, that cost more than the packet's encryption.

// unitPacket is one packet of an access unit for sendUnit: its payload
// and header fields; rec and ext are sendUnit's.
type unitPacket struct {
	payload []byte
	seq     uint16
	ts      uint32
	marker  bool
	rec     sentRecord
	ext     []byte
}

// stream returns the bound stream of SSRC ssrc, or nil.
func (s *sendPath) stream(ssrc uint32) *sentStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[ssrc]
}

// sendUnit sends pkts, packets of stream st sent for the first time, under
// h (the writer's header: SSRC, payload type and extensions set; its
// sequence number, timestamp and marker are set here for each packet).
// It does what writing each through the stream's writer does. It returns
// how many were written.
func (s *sendPath) sendUnit(st *sentStream, h *rtp.Header, pkts []unitPacket) (int, error) {
	if len(pkts) == 0 {
		return 0, nil
	}
	h.Padding, h.PaddingSize = false, 0
	st.mu.Lock()
	for i := range pkts {
		p := &pkts[i]
		h.SequenceNumber, h.Timestamp, h.Marker = p.seq, p.ts, p.marker
		p.rec, p.ext = st.record(h, p.payload)
	}
	st.mu.Unlock()
	var first uint16
	if st.twccID != 0 {
		n := uint32(len(pkts))
		first = uint16(s.twccSeq.Add(n) - n)
		// Every packet of the unit has the same header size.
		if err := st.number(h, pkts[0].ext, first); err != nil {
			return 0, err
		}
		s.meter.onSendUnit(first, h.MarshalSize(), pkts, time.Now())
	}
	for i := range pkts {
		p := &pkts[i]
		h.SequenceNumber, h.Timestamp, h.Marker = p.seq, p.ts, p.marker
		if st.twccID != 0 {
			if err := st.number(h, p.ext, first+uint16(i)); err != nil {
				return i, err
			}
		}
		if _, err := s.outRecord(st, h, &p.rec, nil, st.wbuf); err != nil {
			return i, err
		}
	}
	return len(pkts), nil
}

// onSendUnit records the packets of a unit, numbered from seq on, each
// of hsize header bytes and its payload, sent at now.
func (m *linkMeter) onSendUnit(seq uint16, hsize int, pkts []unitPacket, now time.Time) {
	at := now.Sub(m.start).Microseconds()
	m.mu.Lock()
	for i := range pkts {
		m.sentLocked(seq+uint16(i), hsize+len(pkts[i].payload), at)
	}
	m.mu.Unlock()
}

// unitStream returns the send path's stream for binding b when o sends
// access units whole (unit is set), else nil.
func (o *rtpOut) unitStream(b *trackBinding) *sentStream {
	if o.unit == nil {
		return nil
	}
	if o.unitFor != b || o.unitSt == nil { // not bound yet: look again
		o.unitSt, o.unitFor = o.unit.stream(b.ssrc), b
	}
	return o.unitSt
}

// addUnit adds a payload to the unit being gathered, with the next
// sequence number.
func (o *rtpOut) addUnit(pl []byte, ts uint32, marker bool) {
	o.run = append(o.run, unitPacket{payload: pl, seq: o.seq, ts: ts, marker: marker})
	o.seq++
}

// sendRun sends the unit gathered to st and empties it.
func (o *rtpOut) sendRun(b *trackBinding, st *sentStream) (int, error) {
	h := &o.hdr
	h.SSRC, h.PayloadType = b.ssrc, b.pt
	n, err := o.unit.sendUnit(st, h, o.run)
	clear(o.run) // the payloads are the rung's: let them go
	o.run = o.run[:0]
	return n, err
}
