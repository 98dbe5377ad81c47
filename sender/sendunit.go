package sender

import (
	"time"

	"github.com/pion/rtp"

	"github.com/mutstream/mutstream/internal/udpbatch"
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
	if d := s.direct.Load(); d != nil && d.canSealUnit(pkts, h.MarshalSize()) {
		return d.writeUnit(st, h, pkts, first)
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

// canSealUnit says whether writeUnit can send pkts, of hsize header
// bytes each: the writer seals into batch slots, no payload is VP8
// (written with its picture ID in a buffer of the stream's, one packet
// at a time), and every packet fits a slot (one that does not goes out
// alone, at once, so that the unit packet by packet keeps its order).
func (d *directOut) canSealUnit(pkts []unitPacket, hsize int) bool {
	if d.seal == nil || d.batch == nil {
		return false
	}
	for i := range pkts {
		if pkts[i].rec.vp8 || hsize+len(pkts[i].payload)+gcmTagLen+unitSlack > udpbatch.MaxPacket {
			return false
		}
	}
	return true
}

// unitSlack is room kept in canSealUnit's reckoning of a sealed packet's
// size for what sealing may add to the header.
const unitSlack = 32

// writeUnit numbers (from first on, when st uses transport-wide numbers)
// and sends the packets of an access unit as the direct writer's write
// does each, in one step: all prepared under one lock of d, their room in
// the port's batches taken at once (udpbatch.Conn.ReserveN), each sealed
// into its slot, and the slots committed at once, with d's lock released
// (the commit may send a batch). It returns how many were written; a
// packet that cannot be prepared ends the unit there, as it would packet
// by packet.
func (d *directOut) writeUnit(st *sentStream, h *rtp.Header, pkts []unitPacket, first uint16) (int, error) {
	if d.closed.Load() {
		return 0, errClosedPipe
	}
	d.unitMu.Lock()
	defer d.unitMu.Unlock()
	d.mu.Lock()
	if len(d.unit) < len(pkts) {
		d.unit = append(d.unit, make([]sealedRTP, len(pkts)-len(d.unit))...)
	}
	d.sizes = d.sizes[:0]
	var cause error
	for i := range pkts {
		p := &pkts[i]
		h.SequenceNumber, h.Timestamp, h.Marker = p.seq, p.ts, p.marker
		if st.twccID != 0 {
			if cause = st.number(h, p.ext, first+uint16(i)); cause != nil {
				break
			}
		}
		sp := &d.unit[i]
		if cause = d.seal.prepare(sp, h, p.rec.payload); cause != nil {
			sp.payload = nil
			break
		}
		d.sizes = append(d.sizes, sp.size)
	}
	n, err := d.sendPrepared(d.sizes)
	if err == nil {
		err = cause
	}
	return n, err
}

// sendPrepared seals and sends the packets prepared in d.unit, of the
// sizes given: the runs of them that fit batch slots through ReserveN
// and CommitN, a larger one alone. d.mu is held; sendPrepared unlocks
// it, before the last commit.
func (d *directOut) sendPrepared(sizes []int) (int, error) {
	addr := d.addr.Load()
	sent := 0
	for sent < len(sizes) {
		end := sent
		for end < len(sizes) && sizes[end] <= udpbatch.MaxPacket {
			end++
		}
		if end == sent { // too large for a slot
			if err := d.sealAlone(&d.unit[sent], addr); err != nil {
				d.mu.Unlock()
				d.sent.Add(uint64(sent))
				return sent, err
			}
			sent++
			continue
		}
		if err := d.batch.ReserveN(&d.slots, addr, sizes[sent:end]); err != nil {
			for i := sent; i < len(sizes); i++ {
				d.unit[i].payload = nil
			}
			d.mu.Unlock()
			d.sent.Add(uint64(sent))
			return sent, directWriteErr(err)
		}
		for i, b := range d.slots.B {
			p := &d.unit[sent+i]
			d.seal.seal(b, p)
			p.payload = nil // the rung's: let it go
		}
		sent = end
		if sent == len(sizes) {
			break
		}
		d.batch.CommitN(&d.slots)
	}
	d.mu.Unlock()
	d.batch.CommitN(&d.slots) // nothing when the last packet went alone
	d.sent.Add(uint64(sent))
	return sent, nil
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
