package cpu

import (
	"image"
	"image/color"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/internal/plot"
)

// benchOps are the ops measured one by one, by name; ops written elsewhere
// (watermark, text, stamp) are measured when they are registered.
var benchOps = []struct{ name, js string }{
	{"color", `{"op":"color","brightness":0.05,"contrast":1.2,"saturation":1.3,"gamma":1.1}`},
	{"blur", `{"op":"blur","radius":12,"rect":[0.35,0.35,0.3,0.3]}`},
	{"blur-box", `{"op":"blur","radius":12,"kind":"box","rect":[0.35,0.35,0.3,0.3]}`},
	{"pixelate", `{"op":"pixelate","block":16,"rect":[0.35,0.35,0.3,0.3]}`},
	{"analyze", `{"op":"analyze"}`},
	{"watermark", `{"op":"watermark","image":"logo.png"}`},
	{"text", `{"op":"text","text":"{clock} {stream}"}`},
	{"text-pts", `{"op":"text","text":"{pts}"}`}, // drawn again every frame
	{"stamp", `{"op":"stamp"}`},
}

// benchChain is the four-op chain: blur, watermark, text, color, with
// pixelate and analyze standing in for ops that are not registered.
var benchChain = []string{"blur", "watermark", "text", "color"}

func BenchmarkOps(b *testing.B) {
	dir := b.TempDir()
	if err := writeLogo(filepath.Join(dir, "logo.png")); err != nil {
		b.Fatal(err)
	}
	env := gpu.Env{Limits: gpu.DefaultLimits(), AssetsDir: dir}
	registered := map[string]bool{}
	for _, n := range gpu.Ops() {
		registered[n] = true
	}
	parsed := map[string]string{} // op name -> its JSON, when it parses
	for _, o := range benchOps {
		op := strings.SplitN(o.name, "-", 2)[0]
		if !registered[op] {
			b.Logf("%s: not registered, skipped", op)
			continue
		}
		if _, err := gpu.ParseChain([]byte("["+o.js+"]"), env); err != nil {
			b.Logf("%s: %v, skipped", o.name, err)
			continue
		}
		parsed[o.name] = o.js
	}
	var chainNames, chainJS []string
	for _, n := range benchChain {
		if js, ok := parsed[n]; ok {
			chainNames, chainJS = append(chainNames, n), append(chainJS, js)
		}
	}
	for _, stand := range []string{"pixelate", "analyze"} {
		if len(chainNames) < 4 {
			chainNames, chainJS = append(chainNames, stand), append(chainJS, parsed[stand])
		}
	}
	type run struct{ name, chain string }
	var runs []run
	for _, o := range benchOps {
		if js, ok := parsed[o.name]; ok {
			runs = append(runs, run{"op=" + o.name, "[" + js + "]"})
		}
	}
	runs = append(runs, run{"chain=" + strings.Join(chainNames, "+"), "[" + strings.Join(chainJS, ",") + "]"})

	backend := New(1) // one worker: the figures are per core
	for _, r := range runs {
		b.Run(r.name, func(b *testing.B) {
			for _, size := range [][2]int{{1280, 720}, {1920, 1080}} {
				b.Run(sizeName(size[0], size[1]), func(b *testing.B) {
					benchChainOn(b, backend, env, r.chain, size[0], size[1])
				})
			}
		})
	}
}

func benchChainOn(b *testing.B, backend *Backend, env gpu.Env, chainJS string, w, h int) {
	specs, err := gpu.ParseChain([]byte(chainJS), env)
	if err != nil {
		b.Fatal(err)
	}
	c, err := backend.NewChain(specs, w, h, gpu.YUV420P)
	if err != nil {
		b.Skipf("%s: %v", chainJS, err)
	}
	defer c.Close()
	f := gpu.NewFrame(gpu.YUV420P, w, h)
	for i, p := range f.Planes {
		for j := range p {
			p[j] = byte((j*7 + i*50 + j/w*3) % 256)
		}
	}
	info := gpu.FrameInfo{Stream: "bench", Wall: time.UnixMilli(1_700_000_000_000), Emit: func(gpu.Event) {}}
	b.SetBytes(int64(w * h * 3 / 2))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		info.PTS = time.Duration(i) * 40 * time.Millisecond
		info.Wall = info.Wall.Add(40 * time.Millisecond)
		if err := c.Apply(f, info); err != nil {
			b.Fatal(err)
		}
	}
}

func sizeName(w, h int) string {
	return itoa(w) + "x" + itoa(h)
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for ; v > 0; v /= 10 {
		i--
		buf[i] = byte('0' + v%10)
	}
	return string(buf[i:])
}

// writeLogo writes a 256x128 PNG with a soft alpha edge, for watermark.
func writeLogo(path string) error {
	img := image.NewNRGBA(image.Rect(0, 0, 256, 128))
	for y := range 128 {
		for x := range 256 {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(x), G: uint8(y * 2), B: 200, A: uint8(min(255, (x+y)*2))})
		}
	}
	return plot.WritePNG(path, img)
}
