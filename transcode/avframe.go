package transcode

/*
#cgo pkg-config: libavutil
#include <libavutil/frame.h>
#include <libavutil/hwcontext.h>

static int mediad_frame_make_writable(void *f) { return av_frame_make_writable((AVFrame *)f); }
static uint8_t *mediad_frame_data(void *f, int i) { return ((AVFrame *)f)->data[i]; }
static int mediad_frame_linesize(void *f, int i) { return ((AVFrame *)f)->linesize[i]; }
static AVHWFramesContext *mediad_frame_hw_frames(void *f) {
	AVFrame *fr = f;
	return fr->hw_frames_ctx ? (AVHWFramesContext *)fr->hw_frames_ctx->data : NULL;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"

	"github.com/mutstream/mutstream/gpu"
)

// gpuFormat maps an FFmpeg pixel format to the layout the mutation ops
// work on; ok is false for formats that must be converted first.
func gpuFormat(pf astiav.PixelFormat) (gpu.PixelFormat, bool) {
	switch pf {
	case astiav.PixelFormatYuv420P, astiav.PixelFormatYuvj420P:
		return gpu.YUV420P, true
	case astiav.PixelFormatNv12:
		return gpu.NV12, true
	}
	return 0, false
}

// deviceView fills dst with a view of f's planes in device memory: f is a
// CUDA frame (from NVDEC) whose frames context holds NV12. The view is
// valid until f is unreferenced.
func deviceView(f *astiav.Frame, dst *gpu.Frame) error {
	p := f.UnsafePointer()
	if p == nil || f.PixelFormat() != astiav.PixelFormatCuda {
		return fmt.Errorf("device view: a %s frame is not a CUDA frame", f.PixelFormat())
	}
	hf := hwFrames(f)
	if hf == nil {
		return fmt.Errorf("device view: CUDA frame without a frames context")
	}
	if sw := astiav.PixelFormat(hf.sw_format); sw != astiav.PixelFormatNv12 {
		return fmt.Errorf("device view: CUDA frame holds %s, not nv12", sw)
	}
	w, h := f.Width(), f.Height()
	*dst = gpu.Frame{Format: gpu.NV12, Width: w, Height: h}
	for i := 0; i < 2; i++ {
		data := C.mediad_frame_data(p, C.int(i))
		stride := int(C.mediad_frame_linesize(p, C.int(i)))
		if data == nil || stride < w {
			return fmt.Errorf("device view: plane %d of a %dx%d CUDA frame has no data or a short pitch (%d)", i, w, h, stride)
		}
		dst.Device[i] = uintptr(unsafe.Pointer(data))
		dst.Strides[i] = stride
	}
	return nil
}

// hwFrames is f's hardware frames context, nil for a host frame.
func hwFrames(f *astiav.Frame) *C.AVHWFramesContext {
	p := f.UnsafePointer()
	if p == nil {
		return nil
	}
	return C.mediad_frame_hw_frames(p)
}

// makeWritable gives f buffers of its own (FFmpeg copies them when they
// are shared), so that writing into f changes no other frame.
func makeWritable(f *astiav.Frame) error {
	p := f.UnsafePointer()
	if p == nil {
		return fmt.Errorf("make writable: %w", ErrFFmpeg)
	}
	if ret := C.mediad_frame_make_writable(p); ret < 0 {
		return fmt.Errorf("make writable: %w", astiav.Error(ret))
	}
	return nil
}

// writableView makes f's planes writable (FFmpeg copies them when they are
// shared, for instance with the decoder's reference pictures) and fills dst
// with a view of them in format. The view is valid until f is unreferenced
// or changed.
func writableView(f *astiav.Frame, format gpu.PixelFormat, dst *gpu.Frame) error {
	p := f.UnsafePointer()
	if p == nil {
		return fmt.Errorf("frame view: %w", ErrFFmpeg)
	}
	if ret := C.mediad_frame_make_writable(p); ret < 0 {
		return fmt.Errorf("frame view: make writable: %w", astiav.Error(ret))
	}
	w, h := f.Width(), f.Height()
	rows := [3]int{h, (h + 1) / 2, (h + 1) / 2}
	planes := 3
	if format == gpu.NV12 {
		planes = 2
	}
	*dst = gpu.Frame{Format: format, Width: w, Height: h}
	for i := 0; i < planes; i++ {
		data := C.mediad_frame_data(p, C.int(i))
		stride := int(C.mediad_frame_linesize(p, C.int(i)))
		if data == nil || stride <= 0 {
			return fmt.Errorf("frame view: plane %d of a %dx%d %s frame has no data or a negative stride (%d)", i, w, h, format, stride)
		}
		dst.Planes[i] = unsafe.Slice((*byte)(unsafe.Pointer(data)), stride*rows[i])
		dst.Strides[i] = stride
	}
	return nil
}
