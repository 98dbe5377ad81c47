//go:build cuda

package transcode

import (
	"strings"
	"testing"

	"github.com/asticode/go-astiav"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/gpu/cpu"
	"github.com/mutstream/mutstream/gpu/cuda"
)

// TestDeviceMutation decodes a clip on NVDEC and runs a chain on each frame
// in device memory, then downloads it once; the same clip decoded and
// mutated on the CPU must give the same pictures, within 1 per sample.
// It links gorgonia.org/cu, which exits at start without a GPU: it runs
// from gpu/cuda/gputest where /dev/nvidia0 exists.
func TestDeviceMutation(t *testing.T) {
	b, err := cuda.New()
	if err != nil {
		t.Skipf("no CUDA backend: %v", err)
	}
	defer b.Close()
	tracks, pkts := demux(t, testClip(t, "in.flv", "testsrc2=size=640x360:rate=30", 1))
	vt := videoTrack(t, tracks)
	log, logs := captureLog()
	hw, err := openVideoDecoder(vt, Hardware{Decode: true}, log)
	if err != nil || hw.hw == nil {
		t.Fatalf("NVDEC did not open on this GPU (%v):\n%s", err, logs)
	}
	defer hw.close()
	sw, err := openDecoder(vt)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.close()
	specs, err := gpu.ParseChain([]byte(`[{"op":"color","brightness":0.1,"saturation":1.2},
		{"op":"blur","rect":[0.2,0.2,0.4,0.4],"radius":6},{"op":"pixelate","rect":[0.6,0.5,0.3,0.3],"block":12}]`), gpu.Env{Limits: gpu.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	onGPU := newMutator(b, "cam", nil, log)
	onCPU := newMutator(cpu.New(0), "cam", nil, log)
	for _, m := range []*mutator{onGPU, onCPU} {
		if err := m.set(specs, vt.Width, vt.Height); err != nil {
			t.Fatal(err)
		}
		defer m.close()
	}
	// The CPU reference first, kept by PTS (the decoders' output delays
	// differ): each frame's Y, U and V planes.
	want := map[int64][3][]byte{}
	decodeAll(t, sw, pkts, func(f *astiav.Frame) {
		out := onCPU.apply(f, f.Pts())
		var v gpu.Frame
		if err := writableView(out, gpu.YUV420P, &v); err != nil {
			t.Fatal(err)
		}
		var planes [3][]byte
		for i, wh := range [][2]int{{v.Width, v.Height}, {v.Width / 2, v.Height / 2}, {v.Width / 2, v.Height / 2}} {
			for y := 0; y < wh[1]; y++ {
				planes[i] = append(planes[i], v.Planes[i][y*v.Strides[i]:y*v.Strides[i]+wh[0]]...)
			}
		}
		want[f.Pts()] = planes
	})
	frames := 0
	decodeAll(t, hw, pkts, func(dev *astiav.Frame) {
		frames++
		if dev.PixelFormat() != astiav.PixelFormatCuda {
			t.Fatalf("frame %d from NVDEC in %s, not in device memory", frames, dev.PixelFormat())
		}
		pts := dev.Pts()
		if out, done := onGPU.applyDevice(dev, pts); !done || out != dev {
			t.Fatalf("frame %d: the CUDA chain did not run on the device frame (done %v)", frames, done)
		}
		got, err := hw.host(dev)
		if err != nil {
			t.Fatal(err)
		}
		var g gpu.Frame
		if err := writableView(got, gpu.NV12, &g); err != nil {
			t.Fatal(err)
		}
		w, ok := want[pts]
		if !ok {
			t.Fatalf("frame %d: pts %d not decoded on the CPU", frames, pts)
		}
		worst := 0
		for y := 0; y < g.Height; y++ {
			for x := 0; x < g.Width; x++ {
				worst = max(worst, absDiff(g.Planes[0][y*g.Strides[0]+x], w[0][y*g.Width+x]))
			}
		}
		cw := g.Width / 2
		for y := 0; y < g.Height/2; y++ {
			for x := 0; x < cw; x++ {
				uv := g.Planes[1][y*g.Strides[1]+2*x:]
				worst = max(worst, absDiff(uv[0], w[1][y*cw+x]), absDiff(uv[1], w[2][y*cw+x]))
			}
		}
		if worst > 1 {
			t.Fatalf("frame %d: the device-mutated picture differs from the CPU one by up to %d", frames, worst)
		}
	})
	if frames < 20 {
		t.Fatalf("%d frames compared, want most of 30", frames)
	}
	if !strings.Contains(logs.String(), "mutation runs on device frames") {
		t.Errorf("device mutation not logged:\n%s", logs)
	}
}
