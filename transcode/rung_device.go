package transcode

import (
	"fmt"

	"github.com/asticode/go-astiav"
)

// rungDevice is a rung's path for frames that stay in device memory after
// NVDEC and the CUDA mutation chain: scale_cuda to the rung's size, then
// either NVENC straight from device memory or one download of the scaled
// frame for libx264.
type rungDevice struct {
	filter   *frameFilter
	download bool          // the filter ends with hwdownload (yuv420p on the host)
	out      *astiav.Frame // what the filter gave for the current frame

	noEncIn bool // NVENC did not open on CUDA frames: download for it
	// toHost gives src, the stream's current device frame, in host memory,
	// and moves the stream to swscale (videoPath.toHost).
	toHost func(src *astiav.Frame, why error) (*astiav.Frame, error)
}

// deviceScaleSpec is the filter chain that scales a CUDA frame to w x h:
// NV12 kept in device memory for NVENC, or, when download, converted to
// yuv420p on the GPU and downloaded once for libx264.
func deviceScaleSpec(w, h int, download bool) string {
	s := fmt.Sprintf("scale_cuda=w=%d:h=%d:interp_algo=bilinear", w, h)
	if download {
		return s + ":format=yuv420p,hwdownload,format=yuv420p"
	}
	return s + ":format=nv12"
}

// scale returns src scaled to the rung's size: on the GPU when src is a
// CUDA frame, else (or when that fails: the stream's toHost downloads src
// and moves it to swscale, saying why) with swscale.
func (e *rungEncoder) scale(src *astiav.Frame) (*astiav.Frame, error) {
	if src.PixelFormat() == astiav.PixelFormatCuda {
		out, err := e.scaleOnDevice(src)
		if err == nil {
			return out, nil
		}
		err = fmt.Errorf("rung %s: %w", e.rung.Name, err)
		if e.dev.toHost == nil {
			return nil, err
		}
		if src, err = e.dev.toHost(src, err); err != nil {
			return nil, err
		}
	}
	if err := e.ensureScaler(src); err != nil {
		return nil, err
	}
	if err := e.sws.ScaleFrame(src, e.scaled); err != nil {
		return nil, fmt.Errorf("rung %s: scale: %w", e.rung.Name, err)
	}
	return e.scaled, nil
}

// scaleOnDevice runs src through the rung's scale_cuda chain, (re)built
// when src's shape changes or when the encoders stop taking device frames.
func (e *rungEncoder) scaleOnDevice(src *astiav.Frame) (*astiav.Frame, error) {
	d := &e.dev
	// libvpx takes host frames only: a running VP8 twin needs a download.
	download := !e.takesDevice() || (e.low != nil && !e.low.takesDevice()) ||
		e.twinRunning() || (e.low != nil && e.low.twinRunning())
	if d.filter == nil || d.download != download || !d.filter.fits(src) {
		free(d.filter)
		d.filter = nil
		ff, err := openFrameFilter(src, deviceScaleSpec(e.w, e.h, download))
		if err != nil {
			return nil, err
		}
		d.filter, d.download = ff, download
	}
	if d.out == nil {
		var err error
		if d.out, err = allocFrame(); err != nil {
			return nil, err
		}
	}
	if err := d.filter.run(src, d.out); err != nil {
		return nil, err
	}
	return d.out, nil
}

// takesDevice reports whether this rung's encoder can take CUDA frames:
// NVENC that has not failed to open on them.
func (e *rungEncoder) takesDevice() bool {
	return e.encoder == encoderNVENC && !e.dev.noEncIn
}

// matchInput reopens an NVENC encoder when f's memory (device or host) is
// not what it was opened on, from an IDR; libx264 takes only host frames.
// NVENC that cannot open on CUDA frames stays on host frames: the rung's
// scale_cuda chain then downloads (from the next frame).
func (e *rungEncoder) matchInput(f *astiav.Frame) error {
	device := f.PixelFormat() == astiav.PixelFormatCuda
	if device == (e.cc.PixelFormat() == astiav.PixelFormatCuda) || e.encoder != encoderNVENC {
		return nil
	}
	var input *astiav.Frame
	if device {
		input = f
	}
	cc, err := openNVENCEncoder(e.w, e.h, e.rung.FPS, e.rung.Bitrate, e.cfg, input)
	if err != nil {
		if device {
			e.dev.noEncIn = true
		}
		return fmt.Errorf("rung %s: NVENC on %s frames: %w", e.rung.Name, f.PixelFormat(), err)
	}
	if e.v.target > 0 {
		cc.SetBitRate(int64(e.v.target))
	}
	free(e.cc)
	e.cc, e.haveIDR = cc, false
	return nil
}

// closeDevice frees the rung's device path.
func (e *rungEncoder) closeDevice() {
	free(e.dev.filter)
	free(e.dev.out)
	e.dev.filter, e.dev.out = nil, nil
}
