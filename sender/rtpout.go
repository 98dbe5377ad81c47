package sender

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// rtpMTU is the largest RTP payload sent, leaving room for SRTP and TURN.
const rtpMTU = 1200

// rtpOut packetizes one outgoing track. Sequence numbers and timestamps stay
// continuous whatever feed the packets come from: a rung switch or a new
// publisher shows the browser a resolution change, never a new stream.
type rtpOut struct {
	track     *webrtc.TrackLocalStaticRTP
	payloader rtp.Payloader
	clock     int64 // Hz
	seq       uint16
	base      int64 // added to the packet's PTS in clock units
	lastTS    int64
	lastPTS   time.Duration
	have      bool
	step      int64 // nominal timestamp step, used across a discontinuity
	extID     uint8 // a header extension put on every packet, 0 for none
	extData   []byte
}

// playoutDelayURI is the RTP header extension by which a sender bounds the
// receiver's playout delay.
const playoutDelayURI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

// playoutDelay encodes min and max playout delay, in 10 ms units, 12 bits each.
func playoutDelay(min, max time.Duration) []byte {
	lo, hi := int(min/(10*time.Millisecond)), int(max/(10*time.Millisecond))
	return []byte{byte(lo >> 4), byte(lo<<4) | byte(hi>>8&0x0f), byte(hi)}
}

func newRTPOut(track *webrtc.TrackLocalStaticRTP, payloader rtp.Payloader, clock int64, step int64) *rtpOut {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &rtpOut{
		track:     track,
		payloader: payloader,
		clock:     clock,
		seq:       binary.BigEndian.Uint16(b[:2]),
		lastTS:    int64(binary.BigEndian.Uint32(b[2:])),
		step:      step,
	}
}

// timestamp maps pts to an RTP timestamp, rebasing when pts jumps backwards
// or more than two seconds forwards (new publisher, or a gap).
func (o *rtpOut) timestamp(pts time.Duration) int64 {
	units := int64(pts) * o.clock / int64(time.Second)
	if !o.have {
		o.base = o.lastTS - units
		o.have = true
	} else {
		ts := units + o.base
		if d := ts - o.lastTS; d < 0 || d > 2*o.clock {
			o.base = o.lastTS + o.step - units
		}
	}
	o.lastTS = units + o.base
	o.lastPTS = pts
	return o.lastTS
}

// write sends one access unit and returns how many packets it took.
func (o *rtpOut) write(data []byte, pts time.Duration, marker bool) (int, error) {
	ts := uint32(o.timestamp(pts))
	payloads := o.payloader.Payload(rtpMTU, data)
	for i, pl := range payloads {
		pkt := rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				SequenceNumber: o.seq,
				Timestamp:      ts,
				Marker:         marker && i == len(payloads)-1,
			},
			Payload: pl,
		}
		if o.extID != 0 {
			_ = pkt.Header.SetExtension(o.extID, o.extData)
		}
		o.seq++
		if err := o.track.WriteRTP(&pkt); err != nil {
			return i, err
		}
	}
	return len(payloads), nil
}

var (
	_ rtp.Payloader = (*codecs.H264Payloader)(nil)
	_ rtp.Payloader = (*codecs.OpusPayloader)(nil)
)

// paddingSize is the padding carried by one probe packet.
const paddingSize = 255

// writePadding sends n padding-only packets (RFC 3550 5.1) continuing the
// sequence, at the last timestamp: probe traffic the receiver discards but
// acknowledges in its transport-wide congestion control feedback.
func (o *rtpOut) writePadding(n int) error {
	if !o.have {
		return nil
	}
	for i := 0; i < n; i++ {
		pkt := rtp.Packet{Header: rtp.Header{
			Version:        2,
			Padding:        true,
			PaddingSize:    paddingSize,
			SequenceNumber: o.seq,
			Timestamp:      uint32(o.lastTS),
		}}
		if o.extID != 0 {
			_ = pkt.Header.SetExtension(o.extID, o.extData)
		}
		o.seq++
		if err := o.track.WriteRTP(&pkt); err != nil {
			return err
		}
	}
	return nil
}
