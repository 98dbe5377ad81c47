package cluster

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// frameAssembler puts an H.264 access unit back together from the RTP
// packets of a pull, in arrival order (the origin is one hop away: a
// packet that arrives out of order counts as lost). A frame that lost a
// packet is dropped, and so is every frame after it up to the next IDR,
// which the pull asks for.
type frameAssembler struct {
	depack  codecs.H264Packet
	seq     uint16
	haveSeq bool
	ts      uint32
	data    []byte
	open    bool // a frame is being assembled
	broken  bool // the frame being assembled lost a packet
	needKey bool // drop until an IDR
}

func newFrameAssembler() *frameAssembler { return &frameAssembler{needKey: true} }

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
		a.depack = codecs.H264Packet{} // a half-read fragment is of no use
	}
	a.seq, a.haveSeq = p.SequenceNumber, true
	if a.open && p.Timestamp != a.ts {
		// The previous frame's last packet (and marker) never came.
		a.broken = true
		frame, ts, key, askKey = a.finish()
	}
	if !a.open {
		a.open, a.ts, a.data = true, p.Timestamp, a.data[:0]
	}
	if len(p.Payload) > 0 {
		nal, err := a.depack.Unmarshal(p.Payload)
		if err != nil {
			a.broken = true
		} else {
			a.data = append(a.data, nal...)
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
// one before it, since the last IDR) was broken.
func (a *frameAssembler) finish() ([]byte, uint32, bool, bool) {
	a.open = false
	if a.broken || len(a.data) == 0 {
		wasBroken := a.broken
		a.broken = false
		if wasBroken {
			edgeFramesDropped.WithLabelValues("lost_packet").Inc()
			a.needKey = true
			return nil, 0, false, true
		}
		return nil, 0, false, false
	}
	key := hasIDR(a.data)
	if a.needKey && !key {
		edgeFramesDropped.WithLabelValues("await_keyframe").Inc()
		return nil, 0, false, false
	}
	a.needKey = false
	out := append([]byte(nil), a.data...)
	return out, a.ts, key, false
}

// hasIDR reports whether an Annex-B access unit holds an IDR slice.
func hasIDR(b []byte) bool {
	for i := 0; i+3 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if b[i+3]&0x1f == 5 {
				return true
			}
			i += 2
		}
	}
	return false
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
	return c.base + time.Duration(c.ext*int64(time.Second)/c.rate)
}
