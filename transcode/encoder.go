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
func openH264Encoder(w, h, fps, bitrate int, cfg Config) (*astiav.CodecContext, error) {
	rate := strconv.Itoa(bitrate)
	return openH264With("libx264", w, h, fps, bitrate, cfg.Threads, nil, [][2]string{
		{"preset", cfg.Preset},
		{"tune", "zerolatency"},
		{"profile", "baseline"},
		{"bf", "0"},
		{"sc_threshold", "0"},
		{"forced-idr", "1"},
		{"maxrate", rate},
		{"bufsize", rate},
	})
}

// openH264With opens the H.264 encoder name at w x h, fps, bitrate
// (yuv420p in, the pipeline's time base, a keyframe interval that never
// fires: every keyframe is forced) with its private options. With a
// hardware frame as input, it takes frames like input (their frames
// context, in device memory) instead of yuv420p.
func openH264With(name string, w, h, fps, bitrate, threads int, input *astiav.Frame, options [][2]string) (cc *astiav.CodecContext, err error) {
	codec := astiav.FindEncoderByName(name)
	if codec == nil {
		return nil, fmt.Errorf("%w: FFmpeg has no %s encoder", ErrUnsupportedCodec, name)
	}
	if cc = tracked(astiav.AllocCodecContext(codec)); cc == nil {
		return nil, fmt.Errorf("%s: %w", name, ErrFFmpeg)
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
	cc.SetThreadCount(threads)
	if input != nil {
		if err := takeHardwareFrames(cc, input); err != nil {
			return cc, fmt.Errorf("%s: %w", name, err)
		}
	}

	opts := tracked(astiav.NewDictionary())
	defer free(opts)
	for _, kv := range options {
		if err := opts.Set(kv[0], kv[1], 0); err != nil {
			return cc, fmt.Errorf("%s option %s: %w", name, kv[0], err)
		}
	}
	if err := cc.Open(codec, opts); err != nil {
		return cc, fmt.Errorf("open %s %dx%d: %w", name, w, h, err)
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
