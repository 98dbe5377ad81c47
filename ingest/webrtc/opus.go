package webrtc

import "time"

// defaultOpusDuration is used when a packet's TOC byte cannot say.
const defaultOpusDuration = 20 * time.Millisecond

// opusDuration reads how much audio an Opus packet holds from its TOC byte
// and frame count (RFC 6716 section 3.1), 20 ms when it cannot tell.
func opusDuration(p []byte) time.Duration {
	if len(p) == 0 {
		return defaultOpusDuration
	}
	config := p[0] >> 3
	var frame time.Duration
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		frame = [4]time.Duration{10, 20, 40, 60}[config%4] * time.Millisecond
	case config < 16: // Hybrid: 10, 20 ms
		frame = [2]time.Duration{10, 20}[config%2] * time.Millisecond
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = [4]time.Duration{2500, 5000, 10000, 20000}[config%4] * time.Microsecond
	}
	frames := 1
	switch p[0] & 0x03 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return defaultOpusDuration
		}
		frames = int(p[1] & 0x3f)
	}
	d := time.Duration(frames) * frame
	if d <= 0 || d > 120*time.Millisecond {
		return defaultOpusDuration
	}
	return d
}
