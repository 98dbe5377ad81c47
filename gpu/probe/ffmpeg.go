package probe

/*
#cgo pkg-config: libavutil
#include <libavutil/buffer.h>
#include <libavutil/dict.h>
#include <libavutil/hwcontext.h>

// probe_cuda_device opens FFmpeg's CUDA device on the primary context, as
// the decoder would, and frees it at once.
static int probe_cuda_device(void) {
	AVBufferRef *dev = NULL;
	AVDictionary *opts = NULL;
	int ret = av_dict_set(&opts, "primary_ctx", "1", 0);
	if (ret >= 0) {
		ret = av_hwdevice_ctx_create(&dev, AV_HWDEVICE_TYPE_CUDA, NULL, opts, 0);
	}
	av_dict_free(&opts);
	av_buffer_unref(&dev);
	return ret;
}
*/
import "C"

import (
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"
)

// errNoH264 means FFmpeg has no h264 decoder at all.
var errNoH264 = errors.New("no h264 decoder in this FFmpeg")

// openCUDADevice opens and frees FFmpeg's CUDA device (primary_ctx=1). It
// uses cgo rather than astiav.CreateHardwareDeviceContext, which in
// go-astiav v0.16 has no way to free the device it returns.
func openCUDADevice() error {
	if ret := C.probe_cuda_device(); ret < 0 {
		return fmt.Errorf("FFmpeg cuda device: %w", astiav.Error(ret))
	}
	return nil
}

// h264CUDAConfig reports whether FFmpeg's h264 decoder has a CUDA hwaccel
// that takes a device context.
func h264CUDAConfig() (bool, error) {
	dec := astiav.FindDecoderByName("h264")
	if dec == nil {
		return false, errNoH264
	}
	for _, c := range dec.HardwareConfigs() {
		if c.HardwareDeviceType() == astiav.HardwareDeviceTypeCUDA &&
			c.MethodFlags().Has(astiav.CodecHardwareConfigMethodFlagHwDeviceCtx) {
			return true, nil
		}
	}
	return false, nil
}

// probeDecode says whether NVDEC can decode H.264.
func probeDecode(devErr error) Stage {
	s := Stage{Stage: StageDecode, Backend: BackendCPUDec}
	ok, err := h264CUDAConfig()
	switch {
	case err != nil:
		s.Backend, s.Reason = "none", err.Error()
	case !ok:
		s.Reason = "the h264 decoder of this FFmpeg has no cuda hwaccel"
	case devErr != nil:
		s.Reason = "no CUDA device: " + devErr.Error()
	default:
		s.Backend = BackendNVDEC
		s.Reason = "h264 cuda hwaccel with a CUDA device on its primary context (frames stay in device memory through a CUDA mutation chain; a stream NVDEC cannot open decodes on the CPU)"
	}
	return s
}

// probeScale says whether rungs scale NVDEC's frames with scale_cuda in
// device memory; that needs the frames there, so decode on NVDEC.
func probeScale(devErr error, decode Stage) Stage {
	s := Stage{Stage: StageScale, Backend: BackendCPUSws}
	switch {
	case astiav.FindFilterByName("scale_cuda") == nil:
		s.Reason = "scale_cuda not in this FFmpeg"
	case devErr != nil:
		s.Reason = "no CUDA device: " + devErr.Error()
	case decode.Backend != BackendNVDEC:
		s.Reason = "frames decode on the CPU, so they are in host memory"
	default:
		s.Backend = BackendScaleCUDA
		s.Reason = "scale_cuda on NVDEC frames in device memory, then NVENC there or one download per rung for libx264 (a stream with a CPU mutation chain, or whose scale_cuda fails, scales with swscale)"
	}
	return s
}

// probeEncode says whether NVENC can encode H.264: h264_nvenc must exist
// and open a 64x64 session.
func probeEncode(gpu string) Stage {
	s := Stage{Stage: StageEncode, Backend: BackendCPUX264}
	enc := astiav.FindEncoderByName("h264_nvenc")
	if enc == nil {
		s.Reason = "h264_nvenc not in this FFmpeg"
		return s
	}
	err := openEncoder(enc, 64, 64)
	switch {
	case err == nil:
		s.Backend = BackendNVENC
		s.Reason = "h264_nvenc opened a 64x64 session on " + gpu + " (a rung whose NVENC session cannot open encodes with libx264)"
	case gpu != "none":
		s.Reason = "NVENC not present on " + gpu + ": " + err.Error()
	default:
		s.Reason = "no NVIDIA GPU: h264_nvenc: " + err.Error()
	}
	return s
}

// openEncoder opens enc for w x h yuv420p at 30 fps and frees it.
func openEncoder(enc *astiav.Codec, w, h int) error {
	cc := astiav.AllocCodecContext(enc)
	if cc == nil {
		return errors.New("cannot allocate a codec context")
	}
	defer cc.Free()
	cc.SetWidth(w)
	cc.SetHeight(h)
	cc.SetPixelFormat(astiav.PixelFormatYuv420P)
	cc.SetTimeBase(astiav.NewRational(1, 30))
	cc.SetFramerate(astiav.NewRational(30, 1))
	cc.SetBitRate(100_000)
	if err := cc.Open(enc, nil); err != nil {
		return fmt.Errorf("open %dx%d: %w", w, h, err)
	}
	return nil
}
