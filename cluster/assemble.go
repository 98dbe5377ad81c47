package cluster

import (
	"slices"
	"time"

	"github.com/mutstream/mutstream/metrics"
	"github.com/pion/rtp"
)

// depacketizer is a codec's part of a frameAssembler: what one RTP
// payload carries of a frame, and whether a whole frame is a keyframe.
type depacketizer interface {
	// unmarshal returns the frame data in payload and whether payload
	// begins a frame (false: it goes on with one whose start was sent
	// before).
	unmarshal(payload []byte) (data []byte, begins bool, err error)
	// reset forgets a half-read fragment after a loss.
	reset()
	// keyframe reports whether frame, whole, is a keyframe a decoder can
	// start on; ok is false when it is malformed.
	keyframe(frame []byte) (key, ok bool)
}

// maxFramePackets bounds the packets of one frame an assembler holds.
const maxFramePackets = 4096

// frameAssembler puts a frame (an H.264 access unit, a VP8 frame) back
// together from the RTP packets of a pull. Packets of the frame being
// assembled may come in any order: a packet the pull's NACKs had
// retransmitted comes with its own sequence number after those that
// followed it, and fills its frame's gap. A frame is done when every
// sequence number from its first packet to its marker is in; it is lost
// when a packet of a later frame comes first. A lost frame is dropped, and
// so is every frame after it up to the next keyframe, which the pull asks
// for. Padding-only packets (a sender's bandwidth probes) carry nothing
// and break nothing.
type frameAssembler struct {
	codec   depacketizer
	high    uint16 // the highest sequence number seen
	haveSeq bool
	// next is where the frame after the last complete one starts, when
	// known (nextKnown): a gap before a frame's first packet that arrived
	// is then that frame's, and can be filled.
	next      uint16
	nextKnown bool
	open      bool // a frame is being assembled
	ts        uint32
	start     uint16 // the open frame's first sequence number
	pkts      []*rtp.Packet
	marker    bool   // the open frame's last packet is in
	end       uint16 // its sequence number
	broken    bool   // the open frame cannot be made whole
	needKey   bool   // drop until a keyframe
	data      []byte
}

func newFrameAssembler(d depacketizer) *frameAssembler {
	return &frameAssembler{codec: d, needKey: true}
}

// push takes one packet and returns a frame when p completes one. askKey
// says a keyframe should be requested (a frame was lost).
func (a *frameAssembler) push(p *rtp.Packet) (frame []byte, ts uint32, key, askKey bool) {
	seq := p.SequenceNumber
	padding := len(p.Payload) == 0 && !p.Marker
	if a.haveSeq && int16(seq-a.high) <= 0 {
		// Older than the newest: a retransmission or a reordered packet,
		// used only where it fills a gap of the open frame.
		if a.open && a.within(seq) && (padding || p.Timestamp == a.ts) && !a.holds(seq) {
			a.pkts = append(a.pkts, p)
			return a.complete()
		}
		metrics.EdgeFramesDropped.WithLabelValues("late_packet").Inc()
		return nil, 0, false, false
	}
	a.high, a.haveSeq = seq, true
	if padding {
		switch {
		case a.open:
			if a.within(seq) {
				a.pkts = append(a.pkts, p) // a probe inside the frame's numbers
				return a.complete()
			}
		case a.nextKnown && seq == a.next:
			a.next++
		}
		return nil, 0, false, false
	}
	if a.open && p.Timestamp != a.ts {
		// A later frame began before the open one was whole.
		askKey = a.lose()
	}
	if !a.open {
		a.open, a.ts, a.pkts, a.marker, a.broken = true, p.Timestamp, a.pkts[:0], false, false
		a.start = seq
		if a.nextKnown && int16(seq-a.next) > 0 && int(uint16(seq-a.next)) < maxFramePackets {
			a.start = a.next // the packets missing before seq are this frame's
		}
	}
	if !a.within(seq) {
		a.broken = true // past the marker, or a frame too long
	} else {
		a.pkts = append(a.pkts, p)
	}
	if p.Marker && !a.marker {
		a.marker, a.end = true, seq
	}
	f, t, k, ask := a.complete()
	return f, t, k, askKey || ask
}

// within reports whether seq is one of the open frame's numbers.
func (a *frameAssembler) within(seq uint16) bool {
	off := uint16(seq - a.start)
	if int16(off) < 0 || int(off) >= maxFramePackets {
		return false
	}
	return !a.marker || int16(a.end-seq) >= 0
}

func (a *frameAssembler) holds(seq uint16) bool {
	for _, q := range a.pkts {
		if q.SequenceNumber == seq {
			return true
		}
	}
	return false
}

// lose drops the open frame; it reports that a keyframe is wanted.
func (a *frameAssembler) lose() bool {
	a.open, a.broken, a.nextKnown = false, false, false
	a.pkts = a.pkts[:0]
	a.codec.reset()
	metrics.EdgeFramesDropped.WithLabelValues("lost_packet").Inc()
	a.needKey = true
	return true
}

// loseWhole drops the open frame, whose marker is in: the next frame
// starts after it.
func (a *frameAssembler) loseWhole() bool {
	end := a.end
	a.lose()
	a.next, a.nextKnown = end+1, true
	return true
}

// complete ends the open frame once every packet from its first to its
// marker is in: the frame, or nil when it (or one before it, since the
// last keyframe) was broken.
func (a *frameAssembler) complete() ([]byte, uint32, bool, bool) {
	if a.broken && a.marker {
		return nil, 0, false, a.loseWhole()
	}
	if !a.open || !a.marker || len(a.pkts) < int(uint16(a.end-a.start))+1 {
		return nil, 0, false, false
	}
	slices.SortFunc(a.pkts, func(x, y *rtp.Packet) int {
		return int(uint16(x.SequenceNumber-a.start)) - int(uint16(y.SequenceNumber-a.start))
	})
	a.codec.reset()
	a.data = a.data[:0]
	first := true
	for _, q := range a.pkts {
		if len(q.Payload) == 0 {
			continue
		}
		data, begins, err := a.codec.unmarshal(q.Payload)
		if err != nil || (first && !begins) {
			return nil, 0, false, a.loseWhole() // malformed, or the frame's start was lost
		}
		first = false
		a.data = append(a.data, data...)
	}
	a.open, a.pkts = false, a.pkts[:0]
	a.next, a.nextKnown = a.end+1, true
	if len(a.data) == 0 {
		return nil, 0, false, false
	}
	key, ok := a.codec.keyframe(a.data)
	if !ok {
		return nil, 0, false, a.loseWhole()
	}
	if a.needKey && !key {
		metrics.EdgeFramesDropped.WithLabelValues("await_keyframe").Inc()
		return nil, 0, false, false
	}
	a.needKey = false
	out := append([]byte(nil), a.data...)
	return out, a.ts, key, false
}

// rtpClock turns one track's RTP timestamps into the edge stream's
// timeline: its first packet is placed at its arrival, and every later
// one at the same distance from it as on the origin's clock, so frame
// spacing is the origin's exactly.
type rtpClock struct {
	rate int64
	base time.Duration
	last uint32
	ext  int64
	init bool
}

func (c *rtpClock) pts(ts uint32, now time.Duration) time.Duration {
	if !c.init {
		c.init, c.last, c.base = true, ts, now
		return now
	}
	c.ext += int64(int32(ts - c.last))
	c.last = ts
	// Whole seconds and the remainder apart: ext*1e9 overflows int64
	// after about 28.5 h at 90 kHz.
	secs := time.Duration(c.ext/c.rate) * time.Second
	frac := time.Duration(c.ext % c.rate * int64(time.Second) / c.rate)
	return c.base + secs + frac
}
