package sender

import (
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/stream"
)

// rtpMTU is the largest RTP payload sent, leaving room for SRTP and TURN.
const rtpMTU = 1200

// rtpOut writes one outgoing track. Each access unit is cut into payloads
// once for all viewers (stream.Packet.Payloads); per viewer only the header
// is written, into one reused rtp.Header, and handed to the PeerConnection's
// writer as pion bound it, without TrackLocalStaticRTP's copy and lock.
// Sequence numbers and timestamps stay continuous whatever feed the packets
// come from: a rung switch or a new publisher shows the browser a
// resolution change, never a new stream.
type rtpOut struct {
	track   *BoundTrack
	cut     func([]byte) [][]byte
	clock   int64 // Hz
	seq     uint16
	base    int64 // added to the packet's PTS in clock units
	lastTS  int64
	lastPTS time.Duration
	have    bool
	step    int64 // nominal timestamp step, used across a discontinuity
	extID   uint8 // a header extension put on every packet, 0 for none
	extData []byte
	hdr     rtp.Header // reused for every packet
	pace    *pacer     // nil: every packet goes out at once

	// unit, for a direct viewer, takes each access unit whole
	// (sendunit.go); unitSt is its stream for the binding unitFor, and
	// run the unit being gathered.
	unit    *sendPath
	unitSt  *sentStream
	unitFor *trackBinding
	run     []unitPacket
}

// BoundTrack is a TrackLocalStaticRTP that keeps what pion hands it at Bind:
// the writer, SSRC and payload type of a viewer's one binding, so that the
// sender writes its own headers straight to it.
type BoundTrack struct {
	*webrtc.TrackLocalStaticRTP
	b atomic.Pointer[trackBinding]
}

type trackBinding struct {
	w    webrtc.TrackLocalWriter
	ssrc uint32
	pt   uint8
}

func NewBoundTrack(c webrtc.RTPCodecCapability, id, streamID string) (*BoundTrack, error) {
	t, err := webrtc.NewTrackLocalStaticRTP(c, id, streamID)
	if err != nil {
		return nil, err
	}
	return &BoundTrack{TrackLocalStaticRTP: t}, nil
}

// Bind binds the track and keeps the binding's writer.
func (t *BoundTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	p, err := t.TrackLocalStaticRTP.Bind(ctx)
	if err == nil {
		t.b.Store(&trackBinding{w: ctx.WriteStream(), ssrc: uint32(ctx.SSRC()), pt: uint8(p.PayloadType)})
	}
	return p, err
}

// Unbind forgets the binding.
func (t *BoundTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	t.b.Store(nil)
	return t.TrackLocalStaticRTP.Unbind(ctx)
}

// cutH264 cuts an Annex-B access unit into RTP payloads (single NAL units,
// STAP-A for SPS+PPS, FU-A).
func cutH264(data []byte) [][]byte {
	var p codecs.H264Payloader
	return p.Payload(rtpMTU, data)
}

// cutWhole sends a packet as one payload (Opus).
func cutWhole(data []byte) [][]byte { return [][]byte{data} }

// playoutDelayURI is the RTP header extension by which a sender bounds the
// receiver's playout delay.
const playoutDelayURI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

// playoutDelay encodes min and max playout delay, in 10 ms units, 12 bits each.
func playoutDelay(min, max time.Duration) []byte {
	lo, hi := int(min/(10*time.Millisecond)), int(max/(10*time.Millisecond))
	return []byte{byte(lo >> 4), byte(lo<<4) | byte(hi>>8&0x0f), byte(hi)}
}

func newRTPOut(track *BoundTrack, cut func([]byte) [][]byte, clock int64, step int64) *rtpOut {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &rtpOut{
		track:  track,
		cut:    cut,
		clock:  clock,
		seq:    binary.BigEndian.Uint16(b[:2]),
		lastTS: int64(binary.BigEndian.Uint32(b[2:])),
		step:   step,
		hdr:    rtp.Header{Version: 2},
	}
}

// setExtension puts a header extension on every packet.
func (o *rtpOut) setExtension(id uint8, data []byte) {
	o.extID, o.extData = id, data
	_ = o.hdr.SetExtension(id, data)
}

// header readies o.hdr for the next packet of binding b and advances the
// sequence number.
func (o *rtpOut) header(b *trackBinding, ts uint32, marker bool) *rtp.Header {
	h := &o.hdr
	h.SSRC, h.PayloadType = b.ssrc, b.pt
	h.SequenceNumber, h.Timestamp, h.Marker = o.seq, ts, marker
	h.Padding, h.PaddingSize = false, 0
	o.seq++
	return h
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
func (o *rtpOut) write(p *stream.Packet, marker bool) (int, error) {
	ts := uint32(o.timestamp(p.PTS))
	b := o.track.b.Load()
	if b == nil {
		return 0, nil // not bound yet
	}
	payloads := p.Payloads(o.cut)
	if o.pace != nil {
		return o.writePaced(b, payloads, ts, marker)
	}
	if st := o.unitStream(b); st != nil {
		for i, pl := range payloads {
			o.addUnit(pl, ts, marker && i == len(payloads)-1)
		}
		return o.sendRun(b, st)
	}
	for i, pl := range payloads {
		if _, err := b.w.WriteRTP(o.header(b, ts, marker && i == len(payloads)-1), pl); err != nil {
			return i, err
		}
	}
	return len(payloads), nil
}

// paddingSize is the padding carried by one probe packet.
const paddingSize = 255

// writePadding sends n padding-only packets (RFC 3550 5.1) continuing the
// sequence, at the last timestamp: probe traffic the receiver discards but
// acknowledges in its transport-wide congestion control feedback.
func (o *rtpOut) writePadding(n int) error {
	if !o.have {
		return nil
	}
	b := o.track.b.Load()
	if b == nil {
		return nil
	}
	for i := 0; i < n; i++ {
		h := o.header(b, uint32(o.lastTS), false)
		h.Padding, h.PaddingSize = true, paddingSize
		if _, err := b.w.WriteRTP(h, nil); err != nil {
			return err
		}
	}
	return nil
}
