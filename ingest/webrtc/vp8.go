package webrtc

import (
	"fmt"

	"github.com/pion/rtp/codecs"
)

// vp8Frame reassembles one VP8 frame from RTP payloads (RFC 7741): the
// payload descriptor is stripped and the partitions concatenated.
type vp8Frame struct {
	data    []byte
	started bool
	key     bool
}

func (f *vp8Frame) reset() {
	f.data = nil
	f.started = false
	f.key = false
}

// push adds one RTP payload to the frame.
func (f *vp8Frame) push(p []byte) error {
	var pkt codecs.VP8Packet
	body, err := pkt.Unmarshal(p)
	if err != nil {
		return fmt.Errorf("%w: VP8 payload descriptor: %w", errBadPayload, err)
	}
	if !f.started {
		if pkt.S == 0 || pkt.PID != 0 {
			return fmt.Errorf("%w: VP8 frame does not start at partition 0", errBadPayload)
		}
		if len(body) == 0 {
			return fmt.Errorf("%w: VP8 frame without a payload header", errBadPayload)
		}
		f.started = true
		// RFC 7741 section 4.3: P is 0 in a key frame's payload header.
		f.key = body[0]&0x01 == 0
	}
	if len(f.data)+len(body) > maxFrameSize {
		return errFrameTooLarge
	}
	f.data = append(f.data, body...)
	return nil
}

// isFrameStart reports whether payload begins a frame: start of partition 0.
func (*vp8Frame) isFrameStart(p []byte) bool {
	var pkt codecs.VP8Packet
	body, err := pkt.Unmarshal(p)
	return err == nil && pkt.S == 1 && pkt.PID == 0 && len(body) > 0
}

// finish returns the frame and whether it is a key frame, and resets.
func (f *vp8Frame) finish() (data []byte, keyframe bool, err error) {
	defer f.reset()
	if !f.started || len(f.data) == 0 {
		return nil, false, nil
	}
	return f.data, f.key, nil
}
