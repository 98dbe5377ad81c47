package cluster

import (
	"errors"

	"github.com/pion/rtp/codecs"

	"github.com/mutstream/mutstream/stream"
)

// newDepacketizer returns the depacketizer of a pull's video codec, nil
// for a codec an edge cannot pull.
func newDepacketizer(c stream.Codec) depacketizer {
	switch c {
	case stream.CodecH264, "":
		return &h264Depacketizer{}
	case stream.CodecVP8:
		return &vp8Depacketizer{}
	}
	return nil
}

// h264Depacketizer reads RFC 6184 payloads (packetization mode 1) into
// an Annex-B access unit.
type h264Depacketizer struct{ p codecs.H264Packet }

func (d *h264Depacketizer) unmarshal(payload []byte) ([]byte, bool, error) {
	// An FU-A fragment other than the first goes on with a NAL unit.
	begins := !(payload[0]&0x1f == 28 && len(payload) > 1 && payload[1]&0x80 == 0)
	data, err := d.p.Unmarshal(payload)
	return data, begins, err
}

func (d *h264Depacketizer) reset() { d.p = codecs.H264Packet{} }

func (d *h264Depacketizer) keyframe(frame []byte) (bool, bool) { return hasIDR(frame), true }

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

// vp8Depacketizer reads RFC 7741 payloads into one whole VP8 frame (RFC
// 6386), the payload descriptors stripped: what a stream.Packet of a VP8
// feed carries.
type vp8Depacketizer struct{ p codecs.VP8Packet }

// errVP8Frame is a VP8 frame whose header cannot be read.
var errVP8Frame = errors.New("malformed VP8 frame header")

func (d *vp8Depacketizer) unmarshal(payload []byte) ([]byte, bool, error) {
	data, err := d.p.Unmarshal(payload)
	if err != nil {
		return nil, false, err
	}
	// A frame begins with the start of its first partition (RFC 7741
	// section 4.2: S set, PID 0).
	return data, d.p.S == 1 && d.p.PID == 0, nil
}

func (d *vp8Depacketizer) reset() {}

// keyframe reads the frame tag (RFC 6386 section 9.1): the P bit, clear
// on a key frame, whose header goes on with the start code 9d 01 2a and
// the frame's size.
func (d *vp8Depacketizer) keyframe(frame []byte) (bool, bool) {
	key, err := vp8Keyframe(frame)
	return key, err == nil
}

func vp8Keyframe(frame []byte) (bool, error) {
	if len(frame) < 3 {
		return false, errVP8Frame
	}
	if frame[0]&1 != 0 {
		return false, nil
	}
	if _, _, ok := stream.VP8KeyframeSize(frame); !ok {
		return false, errVP8Frame
	}
	return true, nil
}
