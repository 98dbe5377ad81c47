package transcode

import (
	"testing"

	"github.com/asticode/go-astiav"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/gpu"
)

// TestDeviceScale decodes a clip on NVDEC and scales each frame for a
// 320x180 rung with its scale_cuda chain, downloaded once for libx264: the
// pictures match the CPU decoder's frames scaled by swscale (both bilinear,
// so within a few levels on average) and nothing falls back. It needs an
// NVIDIA GPU and skips elsewhere.
func TestDeviceScale(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := demux(t, testClip(t, "in.flv", "testsrc2=size=640x360:rate=30", 1))
	vt := videoTrack(t, tracks)
	log, logs := captureLog()
	hw, err := openVideoDecoder(vt, Hardware{Decode: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer hw.close()
	if hw.hw == nil {
		t.Skipf("no NVDEC here:\n%s", logs)
	}
	sw, err := openDecoder(vt)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.close()
	r := plannedRung{Rung: Rung{Name: "180p", Width: 320, Height: 180, FPS: 30, Bitrate: 300_000}}
	onGPU, err := newRungEncoder("cam", r, nil, 320, 180, DefaultConfig(), Hardware{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer onGPU.close()
	onCPU, err := newRungEncoder("cam", r, nil, 320, 180, DefaultConfig(), Hardware{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer onCPU.close()

	want := map[int64][]byte{} // luma by pts
	decodeAll(t, sw, pkts, func(f *astiav.Frame) {
		out, err := onCPU.scale(f)
		if err != nil {
			t.Fatal(err)
		}
		want[f.Pts()] = lumaOf(t, out)
	})
	frames := 0
	decodeAll(t, hw, pkts, func(f *astiav.Frame) {
		frames++
		if f.PixelFormat() != astiav.PixelFormatCuda {
			t.Fatalf("frame %d from NVDEC in %s", frames, f.PixelFormat())
		}
		out, err := onGPU.scaleOnDevice(f)
		if err != nil {
			t.Fatalf("frame %d: scale_cuda: %v", frames, err)
		}
		if out.PixelFormat() != astiav.PixelFormatYuv420P || out.Width() != 320 || out.Height() != 180 || out.Pts() != f.Pts() {
			t.Fatalf("frame %d: %dx%d %s pts %d, want 320x180 yuv420p pts %d", frames, out.Width(), out.Height(), out.PixelFormat(), out.Pts(), f.Pts())
		}
		ref, ok := want[f.Pts()]
		if !ok {
			t.Fatalf("frame %d: pts %d not decoded on the CPU", frames, f.Pts())
		}
		got, sum := lumaOf(t, out), 0
		for i := range got {
			sum += absDiff(got[i], ref[i])
		}
		if mean := float64(sum) / float64(len(got)); mean > 4 {
			t.Fatalf("frame %d: scale_cuda's luma differs from swscale's by %.1f on average", frames, mean)
		}
		if err := onGPU.send(out, f.Pts(), frames == 1); err != nil {
			t.Fatalf("frame %d: encode: %v", frames, err)
		}
	})
	if frames < 25 {
		t.Errorf("%d frames, want most of 30", frames)
	}
}

// lumaOf copies f's luma plane, row by row.
func lumaOf(t *testing.T, f *astiav.Frame) []byte {
	t.Helper()
	var v gpu.Frame
	if err := writableView(f, gpu.YUV420P, &v); err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 0, v.Width*v.Height)
	for y := 0; y < v.Height; y++ {
		out = append(out, v.Planes[0][y*v.Strides[0]:y*v.Strides[0]+v.Width]...)
	}
	return out
}

func absDiff(a, b byte) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}
