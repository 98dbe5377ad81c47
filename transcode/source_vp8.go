package transcode

import (
	"github.com/mutstream/mutstream/stream"
)

// observeVP8 looks at one packet of a VP8 source: browsers play any VP8
// stream as it is, so the source rung is eligible from its first key frame
// on, at the size that key frame gives. It reports whether eligibility or
// size changed (a browser publisher changes its resolution at key frames
// with its bandwidth estimate).
func (s *sourceRung) observeVP8(pkt *stream.Packet) bool {
	if !pkt.Keyframe {
		return false
	}
	s.keys.keyframe()
	w, h, ok := stream.VP8KeyframeSize(pkt.Data)
	var shape spsShape
	if ok {
		shape = spsShape{width: w, height: h, playable: true}
	} else {
		shape = spsShape{why: "a VP8 key frame without a readable header"}
	}
	if s.decided && shape == s.shape {
		return false
	}
	s.decided, s.shape = true, shape
	return true
}
