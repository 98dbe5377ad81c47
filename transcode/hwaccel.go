package transcode

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/asticode/go-astiav"

	"github.com/mutstream/mutstream/stream"
)

// Hardware says which video stages try NVIDIA hardware through FFmpeg. The
// server sets it from the capability probe (gpu: auto | off | require);
// each stream, and each rung, falls back to the CPU on its own when the
// hardware cannot open, with the reason logged.
type Hardware struct {
	// Decode opens video decoders with FFmpeg's cuda hwaccel (NVDEC) on a
	// CUDA device on its primary context. Its frames stay in device memory
	// through a CUDA mutation chain; a CPU chain gets them downloaded.
	Decode bool
	// Scale keeps NVDEC frames in device memory up to the rungs, which
	// scale them with scale_cuda and either encode them there (NVENC) or
	// download each rung's frame once (libx264). Without it, or once
	// scale_cuda fails, every frame is downloaded once and scaled with
	// swscale.
	Scale bool
	// Encode opens h264_nvenc for the rungs instead of libx264.
	Encode bool
}

// errNoCUDAHwaccel means the decoder has no cuda hwaccel in this FFmpeg.
var errNoCUDAHwaccel = errors.New("no cuda hwaccel for this decoder in this FFmpeg")

// openVideoDecoder opens the video decoder for t: on NVDEC when hw.Decode
// and it opens, else on the CPU, saying why.
func openVideoDecoder(t stream.Track, hw Hardware, log *slog.Logger) (*decoder, error) {
	if hw.Decode && t.Codec != stream.CodecRawVideo {
		d, err := openDecoderOn(t, true, log)
		if err == nil {
			log.Info("video decodes on NVDEC", "codec", t.Codec)
			return d, nil
		}
		log.Warn("video decodes on the CPU: NVDEC did not open", "codec", t.Codec, "reason", err)
	}
	return openDecoder(t)
}

// useCUDA gives d's codec context a CUDA device on the device's primary
// context and a get_format callback that picks AV_PIX_FMT_CUDA. The codec
// context owns the device from here on: freeing it frees the device.
func (d *decoder) useCUDA(codec *astiav.Codec) error {
	found := false
	for _, c := range codec.HardwareConfigs() {
		if c.HardwareDeviceType() == astiav.HardwareDeviceTypeCUDA &&
			c.MethodFlags().Has(astiav.CodecHardwareConfigMethodFlagHwDeviceCtx) {
			found = true
			break
		}
	}
	if !found {
		return fmt.Errorf("%s: %w", codec.Name(), errNoCUDAHwaccel)
	}
	opts := tracked(astiav.NewDictionary())
	defer free(opts)
	if err := opts.Set("primary_ctx", "1", 0); err != nil {
		return fmt.Errorf("cuda device option: %w", err)
	}
	dev, err := astiav.CreateHardwareDeviceContext(astiav.HardwareDeviceTypeCUDA, "", opts)
	if err != nil {
		return fmt.Errorf("FFmpeg cuda device: %w", err)
	}
	d.cc.SetHardwareDeviceContext(dev)
	d.hw = &hwDecode{}
	state := d.hw
	d.cc.SetPixelFormatCallback(func(pfs []astiav.PixelFormat) astiav.PixelFormat {
		pf := pickCUDAFormat(pfs)
		if pf != astiav.PixelFormatCuda {
			state.declined.Store(true)
		}
		return pf
	})
	return nil
}

// hwDecode is the NVDEC state of a decoder.
type hwDecode struct {
	host     *astiav.Frame // the downloaded frame receive returns
	declined atomic.Bool   // get_format had to pick a software format
	logged   bool          // the fallback to software frames was logged
}

// pickCUDAFormat is the decoder's get_format: the CUDA format when FFmpeg
// offers it, else the software format it offers last (FFmpeg drops the
// CUDA format and asks again when its hwaccel fails to initialise).
func pickCUDAFormat(pfs []astiav.PixelFormat) astiav.PixelFormat {
	for _, pf := range pfs {
		if pf == astiav.PixelFormatCuda {
			return pf
		}
	}
	if len(pfs) == 0 {
		return astiav.PixelFormatNone
	}
	return pfs[len(pfs)-1]
}

// download turns a decoded frame into a host frame: a CUDA frame is copied
// into hw.host (NV12 for 8-bit 4:2:0), anything else is returned as it is.
func (d *decoder) download(f *astiav.Frame) (*astiav.Frame, error) {
	if f.PixelFormat() != astiav.PixelFormatCuda {
		if d.hw.declined.Load() && !d.hw.logged && d.log != nil {
			d.hw.logged = true
			d.log.Warn("video decodes on the CPU: NVDEC declined this stream (FFmpeg's cuda hwaccel could not take it)")
		}
		return f, nil
	}
	d.hw.host.Unref()
	if err := f.TransferHardwareData(d.hw.host); err != nil {
		return nil, fmt.Errorf("NVDEC frame download: %w", err)
	}
	d.hw.host.SetPts(f.Pts())
	d.hw.host.SetSampleAspectRatio(f.SampleAspectRatio())
	d.hw.host.SetColorRange(f.ColorRange())
	d.hw.host.SetKeyFrame(f.KeyFrame())
	d.hw.host.SetPictureType(f.PictureType())
	return d.hw.host, nil
}

// closeHW detaches the get_format callback (go-astiav keeps it in a global
// map until then) and frees the host frame; the codec context frees the
// device.
func (d *decoder) closeHW() {
	if d.hw == nil {
		return
	}
	if d.cc != nil {
		d.cc.SetPixelFormatCallback(nil)
	}
	free(d.hw.host)
	d.hw = nil
}

// nvencPreset maps the x264 preset to an NVENC one among the fast,
// low-latency p1..p4.
func nvencPreset(x264 string) string {
	switch x264 {
	case "ultrafast", "superfast":
		return "p1"
	case "veryfast", "faster":
		return "p2"
	case "fast", "medium":
		return "p3"
	default:
		return "p4"
	}
}

// Encoder backends a rung reports.
const (
	encoderNVENC = "h264_nvenc"
	encoderX264  = "libx264"
)

// openVideoEncoder opens a rung's encoder: h264_nvenc when hw.Encode and it
// opens, else libx264, saying why. It returns the encoder's name.
func openVideoEncoder(w, h, fps, bitrate int, cfg Config, hw Hardware, log *slog.Logger) (*astiav.CodecContext, string, error) {
	if hw.Encode {
		cc, err := openNVENCEncoder(w, h, fps, bitrate, cfg, nil)
		if err == nil {
			return cc, encoderNVENC, nil
		}
		log.Warn("rung encodes with libx264: NVENC did not open", "size", fmt.Sprintf("%dx%d", w, h), "reason", err)
	}
	cc, err := openH264Encoder(w, h, fps, bitrate, cfg)
	return cc, encoderX264, err
}

// openNVENCEncoder opens h264_nvenc with the intent of openH264Encoder:
// baseline profile, no B-frames, low-latency CBR with a VBV of about one
// second, no scene-cut keyframes, IDRs only where the pipeline forces them
// (picture type I with forced-idr), SPS/PPS in band before every IDR. With
// a CUDA frame as input it encodes frames like it straight from device
// memory; else it takes yuv420p.
func openNVENCEncoder(w, h, fps, bitrate int, cfg Config, input *astiav.Frame) (*astiav.CodecContext, error) {
	rate := fmt.Sprint(bitrate)
	return openH264With(encoderNVENC, w, h, fps, bitrate, 0, input, [][2]string{
		{"preset", nvencPreset(cfg.Preset)},
		{"tune", "ll"},
		{"rc", "cbr"},
		{"profile", "baseline"},
		{"bf", "0"},
		{"zerolatency", "1"},
		{"delay", "0"},
		{"no-scenecut", "1"},
		{"forced-idr", "1"},
		{"maxrate", rate},
		{"bufsize", rate},
	})
}
