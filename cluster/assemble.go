package cluster

import (
	"time"

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

// frameAssembler puts a frame (an H.264 access unit, a VP8 frame) back
// together from the RTP packets of a pull, in arrival order (the origin is
// one hop away: a packet that arrives out of order counts as lost). A
// frame that lost a packet is dropped, and so is every frame after it up
// to the next keyframe, which the pull asks for. Padding-only packets (a
// sender's bandwidth probes) carry nothing and break nothing.
type frameAssembler struct {
	codec   depacketizer
	seq     uint16
	haveSeq bool
	ts      uint32
	data    []byte
	open    bool // a frame is being assembled
	broken  bool // the frame being assembled lost a packet
	needKey bool // drop until a keyframe
}

func newFrameAssembler(d depacketizer) *frameAssembler {
	return &frameAssembler{codec: d, needKey: true}
}

// push takes one packet and returns a complete frame when p ends one (its
// marker bit), or when p starts a new timestamp after a frame whose
// marker was lost. askKey says a keyframe should be requested.
func (a *frameAssembler) push(p *rtp.Packet) (frame []byte, ts uint32, key, askKey bool) {
	if a.haveSeq && p.SequenceNumber != a.seq+1 {
		if int16(p.SequenceNumber-a.seq) <= 0 {
			edgeFramesDropped.WithLabelValues("late_packet").Inc()
			return nil, 0, false, false // a retransmission, or a duplicate: too late
		}
		a.broken = true
		a.codec.reset() // a half-read fragment is of no use
	}
	a.seq, a.haveSeq = p.SequenceNumber, true
	if len(p.Payload) == 0 && !p.Marker {
		return nil, 0, false, false // padding: the next packet follows on
	}
	if a.open && p.Timestamp != a.ts {
		// The previous frame's last packet (and marker) never came.
		a.broken = true
		frame, ts, key, askKey = a.finish()
	}
	first := !a.open
	if first {
		a.open, a.ts, a.data = true, p.Timestamp, a.data[:0]
	}
	if len(p.Payload) > 0 {
		data, begins, err := a.codec.unmarshal(p.Payload)
		switch {
		case err != nil:
			a.broken = true
		case first && !begins:
			a.broken = true // the frame's first packet was lost
		default:
			a.data = append(a.data, data...)
		}
	}
	if p.Marker {
		f, t, k, ask := a.finish()
		if f != nil {
			frame, ts, key = f, t, k
		}
		askKey = askKey || ask
	}
	return frame, ts, key, askKey
}

// finish ends the frame being assembled: the frame, or nil when it (or
// one before it, since the last keyframe) was broken.
func (a *frameAssembler) finish() ([]byte, uint32, bool, bool) {
	a.open = false
	if len(a.data) == 0 && !a.broken {
		return nil, 0, false, false
	}
	key, ok := false, !a.broken
	if ok {
		key, ok = a.codec.keyframe(a.data)
	}
	if !ok {
		a.broken = false
		a.codec.reset()
		edgeFramesDropped.WithLabelValues("lost_packet").Inc()
		a.needKey = true
		return nil, 0, false, true
	}
	if a.needKey && !key {
		edgeFramesDropped.WithLabelValues("await_keyframe").Inc()
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
