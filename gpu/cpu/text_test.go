package cpu

import (
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/gpu"
)

// textBox returns where the text op puts its box for params js on a w x h
// frame and info, as the renderer computes it.
func textBox(t *testing.T, js string, w, h int, info gpu.FrameInfo) (x, y, bw, bh int) {
	t.Helper()
	specs, err := gpu.ParseChain([]byte(js), gpu.Env{Limits: gpu.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	r, err := gpu.NewTextRenderer(specs[0].Params.(*gpu.TextParams), w, h)
	if err != nil {
		t.Fatal(err)
	}
	ov, x, y, _ := r.Update(info)
	return x, y, ov.W, ov.H
}

// applyText runs a text chain on a black frame and returns it.
func applyText(t *testing.T, js string, format gpu.PixelFormat, info gpu.FrameInfo) *gpu.Frame {
	t.Helper()
	c := ovChain(t, gpu.Env{Limits: gpu.DefaultLimits()}, js, 320, 180, format)
	f := ovFrame(format, 320, 180, 16, 128, 128)
	if err := c.Apply(f, info); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTextInsideItsBox(t *testing.T) {
	info := gpu.FrameInfo{Stream: "cam", PTS: 1500 * time.Millisecond}
	for _, format := range ovFormats {
		for _, at := range []string{"top-left", "center", "bottom-right", "bottom-left"} {
			js := `[{"op":"text","text":"Hi {stream}","size":0.1,"at":"` + at + `"}]`
			f := applyText(t, js, format, info)
			bx, by, bw, bh := textBox(t, js, 320, 180, info)
			x0, y0, x1, y1, any := ovChanged(ovFrame(format, 320, 180, 16, 128, 128), f)
			if !any {
				t.Fatalf("%v %s: nothing drawn", format, at)
			}
			if x0 < bx || y0 < by || x1 > bx+bw || y1 > by+bh {
				t.Errorf("%v %s: drawn in [%d,%d)x[%d,%d), outside the box [%d,%d)x[%d,%d)", format, at, x0, x1, y0, y1, bx, bx+bw, by, by+bh)
			}
			// 18 px text: the ink is about as high as the font.
			if y1-y0 < 9 || y1-y0 > 26 || x1-x0 < 30 {
				t.Errorf("%v %s: ink %dx%d", format, at, x1-x0, y1-y0)
			}
			// White text on black: coverage shows as luma, chroma stays neutral.
			full := 0
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					l, u, v := ovYUV(f, x, y)
					if u != 128 || v != 128 {
						t.Fatalf("%v: chroma %d,%d under white text", format, u, v)
					}
					if l == 235 {
						full++
					}
				}
			}
			if full < 20 {
				t.Errorf("%v %s: only %d fully covered pixels", format, at, full)
			}
		}
	}
}

func TestTextPlaceholdersChangeTheMask(t *testing.T) {
	const js = `[{"op":"text","text":"{stream} {pts}"}]`
	a := applyText(t, js, gpu.NV12, gpu.FrameInfo{Stream: "one", PTS: time.Second})
	b := applyText(t, js, gpu.NV12, gpu.FrameInfo{Stream: "two", PTS: time.Second})
	c := applyText(t, js, gpu.NV12, gpu.FrameInfo{Stream: "one", PTS: 2500 * time.Millisecond})
	same := applyText(t, js, gpu.NV12, gpu.FrameInfo{Stream: "one", PTS: time.Second})
	if _, _, _, _, any := ovChanged(a, b); !any {
		t.Error("{stream} does not change the text")
	}
	if _, _, _, _, any := ovChanged(a, c); !any {
		t.Error("{pts} does not change the text")
	}
	if _, _, _, _, any := ovChanged(a, same); any {
		t.Error("the same frame info draws differently")
	}
	// One chain over frames whose {clock} changes: each frame shows its own.
	ch := ovChain(t, gpu.Env{Limits: gpu.DefaultLimits()}, `[{"op":"text","text":"{clock}"}]`, 320, 180, gpu.YUV420P)
	wall := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	f1 := ovFrame(gpu.YUV420P, 320, 180, 16, 128, 128)
	f2 := ovCopy(f1)
	f3 := ovCopy(f1)
	ch.Apply(f1, gpu.FrameInfo{Wall: wall})
	ch.Apply(f2, gpu.FrameInfo{Wall: wall.Add(time.Second)})
	ch.Apply(f3, gpu.FrameInfo{Wall: wall})
	if _, _, _, _, any := ovChanged(f1, f2); !any {
		t.Error("{clock} does not change the text")
	}
	if _, _, _, _, any := ovChanged(f1, f3); any {
		t.Error("the same clock draws differently after a change")
	}
}

func TestTextBackgroundAndOpacity(t *testing.T) {
	for _, format := range ovFormats {
		js := `[{"op":"text","text":"ok","at":"top-left","background":"#ff0000","color":"#000000"}]`
		f := applyText(t, js, format, gpu.FrameInfo{})
		bx, by, bw, bh := textBox(t, js, 320, 180, gpu.FrameInfo{})
		// The box's corners are background: red's 82, 90, 240.
		for _, p := range [][2]int{{bx, by}, {bx + bw - 1, by + bh - 1}} {
			if y, u, v := ovYUV(f, p[0], p[1]); y != 82 || u != 90 || v != 240 {
				t.Errorf("%v: box corner %v: %d,%d,%d, want 82,90,240", format, p, y, u, v)
			}
		}
		x0, y0, x1, y1, _ := ovChanged(ovFrame(format, 320, 180, 16, 128, 128), f)
		if x0 != bx || y0 != by || x1 != bx+bw || y1 != by+bh {
			t.Errorf("%v: changed [%d,%d)x[%d,%d), want the box [%d,%d)x[%d,%d)", format, x0, x1, y0, y1, bx, bx+bw, by, by+bh)
		}
		// Black text inside: some luma below the background's.
		dark := 0
		for y := by; y < by+bh; y++ {
			for x := bx; x < bx+bw; x++ {
				if l, _, _ := ovYUV(f, x, y); l < 40 {
					dark++
				}
			}
		}
		if dark == 0 {
			t.Errorf("%v: no text on the background", format)
		}
		// Opacity 0 is the identity.
		g := ovNoise(format, 320, 180)
		orig := ovCopy(g)
		ovChain(t, gpu.Env{}, `[{"op":"text","text":"x","background":"#ffffff","opacity":0}]`, 320, 180, format).Apply(g, gpu.FrameInfo{})
		if _, _, _, _, any := ovChanged(orig, g); any {
			t.Errorf("%v: opacity 0 changed the frame", format)
		}
	}
}

func TestTextValidation(t *testing.T) {
	env := gpu.Env{Limits: gpu.DefaultLimits()}
	env.Limits.MaxTextRunes = 5
	if _, err := gpu.ParseChain([]byte(`[{"op":"text","text":"héllo"}]`), env); err != nil {
		t.Fatalf("5 runes: %v", err)
	}
	for _, c := range []struct{ js, field string }{
		{`[{"op":"text"}]`, "text"},
		{`[{"op":"text","text":""}]`, "text"},
		{`[{"op":"text","text":"héllo!"}]`, "text"},
		{`[{"op":"text","text":"a\nb"}]`, "text"},
		{`[{"op":"text","text":"a","color":"red"}]`, "color"},
		{`[{"op":"text","text":"a","color":"#12345g"}]`, "color"},
		{`[{"op":"text","text":"a","background":"#12345"}]`, "background"},
		{`[{"op":"text","text":"a","size":0.6}]`, "size"},
		{`[{"op":"text","text":"a","size":0}]`, "size"},
		{`[{"op":"text","text":"a","opacity":-0.1}]`, "opacity"},
		{`[{"op":"text","text":"a","at":"up"}]`, "at"},
		{`[{"op":"text","text":5}]`, "text"},
	} {
		ovFieldErr(t, env, c.js, c.field)
	}
	long := `[{"op":"text","text":"` + strings.Repeat("x", 201) + `"}]`
	ovFieldErr(t, gpu.Env{Limits: gpu.DefaultLimits()}, long, "text")
}

func TestTextApplyAllocs(t *testing.T) {
	for _, format := range ovFormats {
		for _, js := range []string{
			`[{"op":"text","text":"Hello, world"}]`,
			`[{"op":"text","text":"pts {pts}","background":"#202020"}]`,
		} {
			c := ovChain(t, gpu.Env{Limits: gpu.DefaultLimits()}, js, 320, 180, format)
			f := ovNoise(format, 320, 180)
			info := gpu.FrameInfo{Stream: "s"}
			_ = c.Apply(f, info)
			if n := testing.AllocsPerRun(30, func() {
				info.PTS += 33 * time.Millisecond
				_ = c.Apply(f, info)
			}); n != 0 {
				t.Errorf("%v %s: %v allocations per frame", format, js, n)
			}
		}
	}
}
