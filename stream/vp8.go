package stream

// VP8KeyframeSize reads the picture size from a VP8 key frame (RFC 6386
// section 9.1: a 3-byte frame tag whose lowest bit is 0 on key frames,
// the start code 9d 01 2a, then 14-bit width and height, each with 2 bits
// of scaling above). ok is false for an interframe or a frame too short
// or without the start code.
func VP8KeyframeSize(frame []byte) (w, h int, ok bool) {
	if len(frame) < 10 || frame[0]&0x01 != 0 {
		return 0, 0, false
	}
	if frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0, false
	}
	w = int(frame[6]) | int(frame[7]&0x3f)<<8
	h = int(frame[8]) | int(frame[9]&0x3f)<<8
	if w == 0 || h == 0 {
		return 0, 0, false
	}
	return w, h, true
}
