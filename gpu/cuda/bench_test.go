//go:build cuda

package cuda

import (
	"fmt"
	"testing"
	"time"

	"github.com/mutstream/mutstream/gpu"
)

// benchCases are the ops timed one by one, then a four-op chain.
var benchCases = []struct{ name, json string }{
	{"color", `[{"op":"color","contrast":1.2,"saturation":1.3}]`},
	{"blur", `[{"op":"blur","radius":12}]`},
	{"blur-box", `[{"op":"blur","kind":"box","radius":12}]`},
	{"pixelate", `[{"op":"pixelate","block":16}]`},
	{"watermark", `[{"op":"watermark","image":"wm.png"}]`},
	{"analyze", `[{"op":"analyze"}]`},
	{"text", `[{"op":"text","text":"{clock} {pts}","background":"#000000"}]`},
	{"stamp", `[{"op":"stamp"}]`},
	{"chain4", `[{"op":"color","contrast":1.2},{"op":"blur","radius":8,"rect":[0.25,0.25,0.5,0.5]},{"op":"pixelate","block":16,"rect":[0,0,0.3,0.3]},{"op":"watermark","image":"wm.png"}]`},
}

// BenchmarkCUDAOps times each op and a four-op chain on device frames
// (the NVDEC path: no copies) and on host frames (upload, run, download),
// at 1280x720 and 1920x1080 NV12. Frames are 40 ms apart, so a {pts}
// text is drawn and uploaded again on every frame.
func BenchmarkCUDAOps(b *testing.B) {
	be, err := New()
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	defer be.Close()
	env := testEnv(b)
	for _, size := range [][2]int{{1280, 720}, {1920, 1080}} {
		w, h := size[0], size[1]
		for _, bc := range benchCases {
			specs, err := gpu.ParseChain([]byte(bc.json), env)
			if err != nil {
				b.Fatalf("%s: %v", bc.name, err)
			}
			for _, mode := range []string{"device", "host"} {
				b.Run(fmt.Sprintf("%s/%dx%d/%s", bc.name, w, h, mode), func(b *testing.B) {
					ch, err := be.NewChain(specs, w, h, gpu.NV12)
					if err != nil {
						b.Fatal(err)
					}
					defer ch.Close()
					f := synthetic(gpu.NV12, w, h, 1, 0)
					if mode == "device" {
						d, free, err := upload(be, f)
						if err != nil {
							b.Fatal(err)
						}
						defer free()
						f = d
					}
					b.SetBytes(int64(w * h * 3 / 2))
					info := gpu.FrameInfo{Stream: "bench"}
					wall := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
					b.ResetTimer()
					for i := range b.N {
						info.PTS = time.Duration(i) * 40 * time.Millisecond
						info.Wall = wall.Add(info.PTS)
						if err := ch.Apply(f, info); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// upload copies a host frame to compact device planes and returns the
// device frame and a function freeing it.
func upload(b *Backend, f *gpu.Frame) (*gpu.Frame, func(), error) {
	d := &gpu.Frame{Format: f.Format, Width: f.Width, Height: f.Height, Strides: f.Strides}
	var bufs [3]devBuf
	free := func() {
		_ = b.dev.do(func() error {
			for i := range bufs {
				bufs[i].free()
			}
			return nil
		})
	}
	err := b.dev.do(func() error {
		for i, p := range f.Planes {
			if p == nil {
				continue
			}
			var err error
			if bufs[i], err = allocBytes(p); err != nil {
				return err
			}
			d.Device[i] = uintptr(bufs[i].ptr)
		}
		return nil
	})
	if err != nil {
		free()
		return nil, nil, err
	}
	return d, free, nil
}
