package transcode

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/asticode/go-astiav"
)

// x264GOPFrames is the encoder's own keyframe interval, long enough never to
// fire: the pipeline forces every keyframe so rungs stay aligned.
const x264GOPFrames = 1 << 20

// openH264Encoder opens libx264 for one rung: constrained baseline, no
// B-frames, zero latency, CBR-like VBV of about one second, Annex-B output
// with SPS/PPS before every IDR.
func openH264Encoder(w, h, fps, bitrate int, cfg Config) (cc *astiav.CodecContext, err error) {
	codec := astiav.FindEncoderByName("libx264")
	if codec == nil {
		return nil, fmt.Errorf("%w: FFmpeg has no libx264 encoder", ErrUnsupportedCodec)
	}
	if cc = tracked(astiav.AllocCodecContext(codec)); cc == nil {
		return nil, fmt.Errorf("libx264: %w", ErrFFmpeg)
	}
	defer func() {
		if err != nil {
			free(cc)
			cc = nil
		}
	}()
	cc.SetWidth(w)
	cc.SetHeight(h)
	cc.SetPixelFormat(astiav.PixelFormatYuv420P)
	cc.SetSampleAspectRatio(astiav.NewRational(1, 1))
	cc.SetTimeBase(videoTimeBase)
	cc.SetFramerate(astiav.NewRational(fps, 1))
	cc.SetBitRate(int64(bitrate))
	cc.SetGopSize(x264GOPFrames)
	cc.SetThreadCount(cfg.Threads)

	opts := tracked(astiav.NewDictionary())
	defer free(opts)
	rate := strconv.Itoa(bitrate)
	for _, kv := range [][2]string{
		{"preset", cfg.Preset},
		{"tune", "zerolatency"},
		{"profile", "baseline"},
		{"bf", "0"},
		{"sc_threshold", "0"},
		{"forced-idr", "1"},
		{"maxrate", rate},
		{"bufsize", rate},
	} {
		if err := opts.Set(kv[0], kv[1], 0); err != nil {
			return cc, fmt.Errorf("libx264 option %s: %w", kv[0], err)
		}
	}
	if err := cc.Open(codec, opts); err != nil {
		return cc, fmt.Errorf("open libx264 %dx%d: %w", w, h, err)
	}
	return cc, nil
}

// drainPackets calls fn with every packet the encoder has ready.
func drainPackets(cc *astiav.CodecContext, pkt *astiav.Packet, fn func(*astiav.Packet)) error {
	for {
		pkt.Unref()
		if err := cc.ReceivePacket(pkt); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			return err
		}
		fn(pkt)
	}
}
