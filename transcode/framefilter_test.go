package transcode

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/asticode/go-astiav"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/metrics"
)

// hostFrame is a w x h yuv420p frame whose luma rises from left to right
// and whose chroma is flat, with pts set.
func hostFrame(t *testing.T, w, h int, pts int64) *astiav.Frame {
	t.Helper()
	f := greyFrame(t, w, h, astiav.PixelFormatYuv420P, 128)
	var v gpu.Frame
	if err := writableView(f, gpu.YUV420P, &v); err != nil {
		t.Fatal(err)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v.Planes[0][y*v.Strides[0]+x] = byte(16 + x*200/w)
		}
	}
	f.SetPts(pts)
	return f
}

// TestFrameFilter runs a filter chain built by openFrameFilter on host
// frames (the graph scale_cuda runs in on a GPU, with FFmpeg's CPU scaler
// here): the output has the chain's size and format, the input's
// timestamp and picture, the filter knows the shape it was built for, and
// everything is freed.
func TestFrameFilter(t *testing.T) {
	in := hostFrame(t, 64, 48, 9000)
	defer free(in)
	out, err := allocFrame()
	if err != nil {
		t.Fatal(err)
	}
	defer free(out)
	ff, err := openFrameFilter(in, "scale=w=32:h=24:flags=bilinear,format=nv12")
	if err != nil {
		t.Fatal(err)
	}
	defer free(ff)
	for i := int64(0); i < 3; i++ {
		in.SetPts(9000 + 3000*i)
		if err := ff.run(in, out); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if out.Width() != 32 || out.Height() != 24 || out.PixelFormat() != astiav.PixelFormatNv12 || out.Pts() != in.Pts() {
			t.Fatalf("frame %d: out %dx%d %s pts %d, want 32x24 nv12 pts %d", i, out.Width(), out.Height(), out.PixelFormat(), out.Pts(), in.Pts())
		}
	}
	var v gpu.Frame
	if err := writableView(out, gpu.NV12, &v); err != nil {
		t.Fatal(err)
	}
	// The ramp survives: left darker than right by about 200*(30/32).
	left, right := int(v.Planes[0][12*v.Strides[0]+1]), int(v.Planes[0][12*v.Strides[0]+30])
	if right-left < 150 || left < 16 || left > 40 {
		t.Errorf("scaled luma ramp %d..%d, want about 22..204", left, right)
	}
	if uv := v.Planes[1][5*v.Strides[1] : 5*v.Strides[1]+2]; uv[0] != 128 || uv[1] != 128 {
		t.Errorf("chroma %v, want flat 128", uv)
	}
	if !ff.fits(in) {
		t.Error("the filter does not fit the shape it was built for")
	}
	other := hostFrame(t, 80, 48, 0)
	defer free(other)
	if ff.fits(other) {
		t.Error("the filter fits a frame of another size")
	}
}

// TestFrameFilterErrors: a chain FFmpeg cannot build says where it failed,
// and leaves nothing allocated. The rungs' scale_cuda chains parse in this
// FFmpeg (their options exist) and fail only at configuration on a host
// frame, which has no CUDA frames context.
func TestFrameFilterErrors(t *testing.T) {
	in := hostFrame(t, 64, 48, 0)
	defer free(in)
	before := LiveObjects()
	for _, c := range []struct{ spec, stage string }{
		{"nosuchfilter", "parse"},
		{"scale=w=32:h=24:nosuchoption=1", "parse"},
		{deviceScaleSpec(32, 24, false), "configure"},
		{deviceScaleSpec(32, 24, true), "configure"},
	} {
		ff, err := openFrameFilter(in, c.spec)
		if err == nil {
			free(ff)
			t.Errorf("%q opened on a host frame", c.spec)
			continue
		}
		if !strings.Contains(err.Error(), c.spec) || !strings.Contains(err.Error(), ": "+c.stage+": ") {
			t.Errorf("%q: error %q, want it to name the chain and the %s step", c.spec, err, c.stage)
		}
	}
	if n := LiveObjects() - before; n != 0 {
		t.Errorf("%d FFmpeg objects left by failed filters", n)
	}
}

// TestCodecContextC checks the codec context pointer taken from go-astiav's
// CodecContext against the address FFmpeg's class reports for it, and that
// an encoder refuses host frames as hardware input.
func TestCodecContextC(t *testing.T) {
	cc, err := openH264Encoder(64, 48, 30, 100_000, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer free(cc)
	got := fmt.Sprintf("@ %p", unsafe.Pointer(codecContextC(cc)))
	if s := cc.Class().String(); !strings.HasSuffix(s, got) {
		t.Fatalf("codec context %s, class says %q", got, s)
	}
	in := hostFrame(t, 64, 48, 0)
	defer free(in)
	c2 := tracked(astiav.AllocCodecContext(astiav.FindEncoderByName("libx264")))
	defer free(c2)
	if err := takeHardwareFrames(c2, in); err == nil || !errors.Is(err, astiav.Error(-int(syscall.EINVAL))) {
		t.Errorf("a host frame as hardware input: %v, want EINVAL", err)
	}
}

// TestScaleFallsBackToHost: a rung whose scale_cuda chain cannot run asks
// the stream for the frame in host memory; the stream downloads it once per
// frame for all its rungs, moves to swscale, and says so once, in the log
// and in mediad_hardware_fallbacks_total{stage="scale"}.
func TestScaleFallsBackToHost(t *testing.T) {
	log, logs := captureLog()
	d := &decoder{} // a CPU decoder: host gives the frame as it is
	v := &videoPath{p: &Pipeline{log: log, name: "cam"}, dec: d, onDevice: true}
	cur := hostFrame(t, 64, 48, 0)
	defer free(cur)
	before := testutil.ToFloat64(metrics.HardwareFallbacks.WithLabelValues("scale"))

	e, err := newRungEncoder("cam", plannedRung{Rung: Rung{Name: "180p", Width: 32, Height: 24, FPS: 30, Bitrate: 100_000}},
		nil, 32, 24, DefaultConfig(), Hardware{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	e.dev.toHost = v.toHost
	// scale_cuda on a host frame fails as it would on a broken device.
	if _, err := e.scaleOnDevice(cur); err == nil {
		t.Fatal("scale_cuda ran on a host frame")
	} else if h, err := e.dev.toHost(cur, err); err != nil || h != cur {
		t.Fatalf("toHost: %v, %v", h, err)
	}
	if h, err := v.toHost(cur, errors.New("again")); err != nil || h != cur {
		t.Fatalf("second toHost: %v, %v", h, err)
	}
	if v.onDevice {
		t.Error("the stream still scales on the device")
	}
	if got := testutil.ToFloat64(metrics.HardwareFallbacks.WithLabelValues("scale")) - before; got != 1 {
		t.Errorf("mediad_hardware_fallbacks_total{stage=scale} rose by %v, want 1", got)
	}
	if n := strings.Count(logs.String(), "scale_cuda failed"); n != 1 || !strings.Contains(logs.String(), "scale_cuda=w=32:h=24") {
		t.Errorf("fallback logged %d times, want once with the failing chain:\n%s", n, logs)
	}
	// The rung encodes the host frame with swscale and libx264.
	cc := e.cc
	if err := e.encode(cur, 0, true, runs{h264: true}); err != nil {
		t.Fatal(err)
	}
	if e.cc != cc {
		t.Error("libx264 reopened for a change of input memory")
	}
}
