package transcode

import (
	"fmt"
	"strconv"

	"github.com/asticode/go-astiav"
)

// encoderVP8 is the name of FFmpeg's VP8 encoder (libvpx).
const encoderVP8 = "libvpx"

// openVP8Encoder opens libvpx for one rung's VP8 twin: realtime deadline,
// cfg.CPUUsed, no look-ahead (lag_in_frames 0, no alt-ref), error
// resilience, CBR at bitrate with a one-second buffer, and a keyframe
// interval that never fires (kf_min_dist = kf_max_dist = x264GOPFrames):
// every keyframe is forced by the pipeline (picture type I), at the same
// PTS as the H.264 rung's IDRs.
func openVP8Encoder(w, h, fps, bitrate int, cfg VP8Config) (*astiav.CodecContext, error) {
	rate := strconv.Itoa(bitrate)
	gop := strconv.Itoa(x264GOPFrames)
	return openH264With(encoderVP8, w, h, fps, bitrate, cfg.Threads, nil, [][2]string{
		{"deadline", "realtime"},
		{"cpu-used", strconv.Itoa(cfg.CPUUsed)},
		{"lag-in-frames", "0"},
		{"auto-alt-ref", "0"},
		{"error-resilient", "default"},
		{"keyint_min", gop},
		{"minrate", rate},
		{"maxrate", rate},
		{"bufsize", rate},
		{"qmin", "4"},
		{"qmax", "63"},
		{"max-intra-rate", "300"},
		{"undershoot-pct", "95"},
	})
}

// vp8Name says how VP8 twins encode, for logs.
func vp8Name(cfg VP8Config) string {
	if !cfg.Enabled {
		return "off"
	}
	return fmt.Sprintf("%s cpu-used=%d threads=%d", encoderVP8, cfg.CPUUsed, cfg.Threads)
}
