package sender

// Transport-wide congestion control feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01, section 3.1) walked
// straight from its bytes into the link meter: pion's parse makes a slice
// of chunks and one of deltas, a pointer per delta, for every feedback
// packet, every few tens of milliseconds for every viewer.

import (
	"encoding/binary"
	"math/bits"

	"github.com/pion/rtcp"
)

// Offsets in a feedback packet, from its RTCP header on.
const (
	fbBase   = 12 // base sequence number
	fbCount  = 14 // packet status count
	fbRef    = 16 // reference time, 24 bits, in 64 ms
	fbChunks = 20 // the first packet status chunk
)

// fbWalk is the walk through one feedback packet's statuses, in order;
// the meter's lock is held while it runs.
type fbWalk struct {
	m       *linkMeter
	seq     uint16 // of the next status
	left    int    // statuses the packet still reports
	arrival int64  // µs, receiver's clock, of the latest received packet
}

// walk starts the walk of a feedback packet with the given base sequence
// number, packet status count and reference time; m.mu is held.
func (m *linkMeter) walk(base, count uint16, ref uint32) fbWalk {
	return fbWalk{m: m, seq: base, left: int(count), arrival: int64(ref) * 64_000}
}

// status counts the next status, sym, and returns its packet's sequence
// number and whether it carries an arrival delta (arrive takes it); ok is
// false, and nothing counted, once the packet's count is reached.
func (w *fbWalk) status(sym uint16) (seq uint16, timed, ok bool) {
	if w.left <= 0 {
		return 0, false, false
	}
	w.left--
	seq = w.seq
	w.seq++
	w.m.reported++
	if sym == rtcp.TypeTCCPacketNotReceived {
		w.m.lost++
		w.m.lostRecent++
	}
	return seq, sym == rtcp.TypeTCCPacketReceivedSmallDelta || sym == rtcp.TypeTCCPacketReceivedLargeDelta, true
}

// arrive takes packet seq as received delta µs after the previous one.
func (w *fbWalk) arrive(seq uint16, delta int64) {
	w.arrival += delta
	w.m.onArrival(seq, w.arrival)
}

// feedbackLayout checks that b, a feedback packet from its RTCP header on
// and with its padding, holds the chunks for every status it counts and
// a delta for every status that has one, and returns where the deltas
// begin; false when it does not.
func feedbackLayout(b []byte) (deltas int, ok bool) {
	if len(b) < fbChunks {
		return 0, false
	}
	left := int(binary.BigEndian.Uint16(b[fbCount:]))
	pos, need := fbChunks, 0
	for left > 0 {
		if pos+2 > len(b) {
			return 0, false
		}
		n, d := chunkSpan(binary.BigEndian.Uint16(b[pos:]), left)
		left, need, pos = left-n, need+d, pos+2
	}
	return pos, pos+need <= len(b)
}

// chunkSpan returns how many statuses chunk c gives of the left still
// counted, and how many bytes of deltas those take.
func chunkSpan(c uint16, left int) (n, deltaBytes int) {
	switch {
	case c&0x8000 == 0: // run length
		n = min(int(c&0x1fff), left)
		return n, n * deltaSize(c>>13&3)
	case c&0x4000 == 0: // status vector of 14 one-bit symbols, 1 a small delta
		n = min(14, left)
		return n, bits.OnesCount16(c & 0x3fff >> (14 - n))
	default: // status vector of 7 two-bit symbols
		n = min(7, left)
		for i := range n {
			deltaBytes += deltaSize(c >> (12 - 2*i) & 3)
		}
		return n, deltaBytes
	}
}

// deltaSize is the size of the arrival delta of a packet of status sym.
func deltaSize(sym uint16) int {
	switch sym {
	case rtcp.TypeTCCPacketReceivedSmallDelta:
		return 1
	case rtcp.TypeTCCPacketReceivedLargeDelta:
		return 2
	}
	return 0
}

// feedbackBytes walks one feedback packet, b from its RTCP header on, as
// onFeedback walks it parsed; false, with nothing taken, when b does not
// hold what it counts (feedbackLayout).
func (m *linkMeter) feedbackBytes(b []byte) bool {
	d, ok := feedbackLayout(b)
	if !ok {
		return false
	}
	defer m.signalFed()
	m.mu.Lock()
	defer m.mu.Unlock()
	ref := uint32(b[fbRef])<<16 | uint32(b[fbRef+1])<<8 | uint32(b[fbRef+2])
	w := m.walk(binary.BigEndian.Uint16(b[fbBase:]), binary.BigEndian.Uint16(b[fbCount:]), ref)
	for pos := fbChunks; w.left > 0; pos += 2 {
		c := binary.BigEndian.Uint16(b[pos:])
		switch {
		case c&0x8000 == 0:
			sym := c >> 13 & 3
			for n := c & 0x1fff; n > 0 && w.left > 0; n-- {
				d = w.statusAt(sym, b, d)
			}
		case c&0x4000 == 0:
			for i := 13; i >= 0 && w.left > 0; i-- {
				d = w.statusAt(c>>i&1, b, d)
			}
		default:
			for i := 12; i >= 0 && w.left > 0; i -= 2 {
				d = w.statusAt(c>>i&3, b, d)
			}
		}
	}
	return true
}

// statusAt takes the next status, sym, with its arrival delta, if it has
// one, read from b at d; it returns where the next delta is.
func (w *fbWalk) statusAt(sym uint16, b []byte, d int) int {
	seq, timed, ok := w.status(sym)
	if !ok || !timed {
		return d
	}
	if sym == rtcp.TypeTCCPacketReceivedSmallDelta {
		w.arrive(seq, rtcp.TypeTCCDeltaScaleFactor*int64(b[d]))
		return d + 1
	}
	w.arrive(seq, rtcp.TypeTCCDeltaScaleFactor*int64(int16(binary.BigEndian.Uint16(b[d:]))))
	return d + 2
}
