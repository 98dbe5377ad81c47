package transcode

/*
#cgo pkg-config: libavfilter libavcodec libavutil
#include <errno.h>
#include <stdlib.h>
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/frame.h>
#include <libavutil/hwcontext.h>

// mediad_filter is one filter chain from a buffer source to a buffer sink.
typedef struct {
	AVFilterGraph *graph;
	AVFilterContext *src, *sink;
} mediad_filter;

static void mediad_filter_free(mediad_filter *f) {
	if (!f) return;
	avfilter_graph_free(&f->graph);
	av_free(f);
}

// mediad_filter_open builds "in -> spec -> out" for frames shaped like in
// (size, format, and for hardware frames their frames context), with
// timestamps in 1/90000. On error *out is NULL and stage says which step
// failed.
static int mediad_filter_open(mediad_filter **out, const AVFrame *in, const char *spec, const char **stage) {
	*out = NULL;
	mediad_filter *f = av_mallocz(sizeof(*f));
	if (!f) { *stage = "alloc"; return AVERROR(ENOMEM); }
	int ret = AVERROR(ENOMEM);
	AVFilterInOut *outputs = NULL, *inputs = NULL;
	AVBufferSrcParameters *par = NULL;
	*stage = "alloc";
	if (!(f->graph = avfilter_graph_alloc())) goto fail;
	f->graph->nb_threads = 1;
	*stage = "buffer source";
	if (!(f->src = avfilter_graph_alloc_filter(f->graph, avfilter_get_by_name("buffer"), "in"))) goto fail;
	if (!(par = av_buffersrc_parameters_alloc())) goto fail;
	par->format = in->format;
	par->width = in->width;
	par->height = in->height;
	par->time_base = (AVRational){1, 90000};
	par->sample_aspect_ratio = in->sample_aspect_ratio.num > 0 ? in->sample_aspect_ratio : (AVRational){1, 1};
	par->hw_frames_ctx = in->hw_frames_ctx; // referenced by the source
	if ((ret = av_buffersrc_parameters_set(f->src, par)) < 0) goto fail;
	if ((ret = avfilter_init_str(f->src, NULL)) < 0) goto fail;
	*stage = "buffer sink";
	if ((ret = avfilter_graph_create_filter(&f->sink, avfilter_get_by_name("buffersink"), "out", NULL, NULL, f->graph)) < 0) goto fail;
	*stage = "parse";
	ret = AVERROR(ENOMEM);
	if (!(outputs = avfilter_inout_alloc()) || !(inputs = avfilter_inout_alloc())) goto fail;
	outputs->name = av_strdup("in");
	outputs->filter_ctx = f->src;
	inputs->name = av_strdup("out");
	inputs->filter_ctx = f->sink;
	if (!outputs->name || !inputs->name) goto fail;
	if ((ret = avfilter_graph_parse_ptr(f->graph, spec, &inputs, &outputs, NULL)) < 0) goto fail;
	*stage = "configure";
	if ((ret = avfilter_graph_config(f->graph, NULL)) < 0) goto fail;
	av_free(par);
	avfilter_inout_free(&inputs);
	avfilter_inout_free(&outputs);
	*out = f;
	return 0;
fail:
	av_free(par);
	avfilter_inout_free(&inputs);
	avfilter_inout_free(&outputs);
	mediad_filter_free(f);
	return ret;
}

// mediad_filter_run passes in through the chain (in keeps its reference)
// and puts the one frame that comes out in out.
static int mediad_filter_run(mediad_filter *f, AVFrame *in, AVFrame *out) {
	int ret = av_buffersrc_add_frame_flags(f->src, in, AV_BUFFERSRC_FLAG_KEEP_REF);
	if (ret < 0) return ret;
	av_frame_unref(out);
	return av_buffersink_get_frame(f->sink, out);
}

// mediad_encoder_take_frames makes cc, not yet open, take in's hardware
// frames (its frames context and format) as its input.
static int mediad_encoder_take_frames(AVCodecContext *cc, const AVFrame *in) {
	if (!in->hw_frames_ctx) return AVERROR(EINVAL);
	av_buffer_unref(&cc->hw_frames_ctx);
	if (!(cc->hw_frames_ctx = av_buffer_ref(in->hw_frames_ctx))) return AVERROR(ENOMEM);
	cc->pix_fmt = in->format;
	return 0;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// frameFilter is an FFmpeg filter chain, such as scale_cuda on device
// frames, built for one input shape: the size, pixel format and (for a
// hardware frame) frames context of the frame it was opened with. go-astiav
// v0.16 cannot give a buffer source a frames context, so the graph is built
// here.
type frameFilter struct {
	c    *C.mediad_filter
	spec string

	w, h   int
	format astiav.PixelFormat
	frames *C.AVHWFramesContext // the input's, nil for host frames
}

// openFrameFilter builds spec (a filter chain in FFmpeg's syntax, e.g.
// "scale_cuda=w=640:h=360") for frames shaped like in. Its timestamps are
// 90 kHz.
func openFrameFilter(in *astiav.Frame, spec string) (*frameFilter, error) {
	p := in.UnsafePointer()
	if p == nil {
		return nil, fmt.Errorf("filter %q: %w", spec, ErrFFmpeg)
	}
	cs := C.CString(spec)
	defer C.free(unsafe.Pointer(cs))
	var c *C.mediad_filter
	var stage *C.char
	if ret := C.mediad_filter_open(&c, (*C.AVFrame)(p), cs, &stage); ret < 0 {
		return nil, fmt.Errorf("filter %q on %dx%d %s: %s: %w", spec, in.Width(), in.Height(), in.PixelFormat(), C.GoString(stage), astiav.Error(ret))
	}
	ff := &frameFilter{c: c, spec: spec, w: in.Width(), h: in.Height(), format: in.PixelFormat(), frames: hwFrames(in)}
	return tracked(ff), nil
}

// fits reports whether in has the shape the filter was built for.
func (ff *frameFilter) fits(in *astiav.Frame) bool {
	return in.Width() == ff.w && in.Height() == ff.h && in.PixelFormat() == ff.format && hwFrames(in) == ff.frames
}

// run filters in (which keeps its data) into out, whose previous content
// is unreferenced; out's timestamp is in's.
func (ff *frameFilter) run(in, out *astiav.Frame) error {
	ip, op := in.UnsafePointer(), out.UnsafePointer()
	if ip == nil || op == nil {
		return fmt.Errorf("filter %q: %w", ff.spec, ErrFFmpeg)
	}
	if ret := C.mediad_filter_run(ff.c, (*C.AVFrame)(ip), (*C.AVFrame)(op)); ret < 0 {
		return fmt.Errorf("filter %q: %w", ff.spec, astiav.Error(ret))
	}
	return nil
}

// Free frees the graph; tracked objects are freed with free(ff).
func (ff *frameFilter) Free() {
	C.mediad_filter_free(ff.c)
	ff.c = nil
}

// codecContextC is cc's AVCodecContext. go-astiav v0.16 exposes no C
// pointer for a codec context; its CodecContext starts with that pointer
// (TestCodecContextC checks it against the address FFmpeg logs).
func codecContextC(cc *astiav.CodecContext) *C.AVCodecContext {
	return *(**C.AVCodecContext)(unsafe.Pointer(cc))
}

// takeHardwareFrames makes cc, an encoder not yet open, take frames like in
// (a hardware frame) as input: in's frames context and pixel format.
func takeHardwareFrames(cc *astiav.CodecContext, in *astiav.Frame) error {
	p := in.UnsafePointer()
	if p == nil {
		return fmt.Errorf("encoder input: %w", ErrFFmpeg)
	}
	if ret := C.mediad_encoder_take_frames(codecContextC(cc), (*C.AVFrame)(p)); ret < 0 {
		return fmt.Errorf("encoder input from a %s frame: %w", in.PixelFormat(), astiav.Error(ret))
	}
	return nil
}
