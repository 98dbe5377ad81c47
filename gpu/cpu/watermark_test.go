package cpu

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/mutstream/mutstream/gpu"
)

// ovChain parses a chain and prepares it on the CPU backend for w x h
// frames.
func ovChain(t *testing.T, env gpu.Env, js string, w, h int, format gpu.PixelFormat) gpu.Chain {
	t.Helper()
	specs, err := gpu.ParseChain([]byte(js), env)
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	c, err := New(2).NewChain(specs, w, h, format)
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	t.Cleanup(c.Close)
	return c
}

// ovFieldErr checks that a chain is refused with an error on field.
func ovFieldErr(t *testing.T, env gpu.Env, js, field string) {
	t.Helper()
	_, err := gpu.ParseChain([]byte(js), env)
	var ce *gpu.ChainError
	if !errors.As(err, &ce) || ce.Field != field {
		t.Errorf("%s: got %v, want an error on %s", js, err, field)
	}
}

// writeTestPNG writes an 8x4 PNG into dir: the left half opaque red, the
// right half white at alpha 128.
func writeTestPNG(t *testing.T, dir, name string) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 8, 4))
	for y := range 4 {
		for x := range 8 {
			c := color.NRGBA{255, 0, 0, 255}
			if x >= 4 {
				c = color.NRGBA{255, 255, 255, 128}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func testEnv(t *testing.T) gpu.Env {
	dir := t.TempDir()
	writeTestPNG(t, dir, "logo.png")
	return gpu.Env{Limits: gpu.DefaultLimits(), AssetsDir: dir}
}

// TestWatermarkGolden: on a 64x48 frame at scale 0.125 the 8x4 picture is
// drawn at its own size; at top-left the margin is 2*round(0.03*48/2) = 2.
func TestWatermarkGolden(t *testing.T) {
	env := testEnv(t)
	for _, format := range ovFormats {
		c := ovChain(t, env, `[{"op":"watermark","image":"logo.png","at":"top-left","scale":0.125}]`, 64, 48, format)
		f := ovFrame(format, 64, 48, 100, 110, 120)
		orig := ovCopy(f)
		if err := c.Apply(f, gpu.FrameInfo{}); err != nil {
			t.Fatal(err)
		}
		// Red, opaque: its own Y, U, V (82, 90, 240).
		// White (235, 128, 128) at alpha 128:
		//   Y = (100*127 + 235*128 + 127)/255 = 168
		//   U = (110*127 + 128*128 + 127)/255 = 119, V = (120*127 + 128*128 + 127)/255 = 124.
		for y := 2; y < 6; y++ {
			for x := 2; x < 10; x++ {
				wy, wu, wv := byte(82), byte(90), byte(240)
				if x >= 6 {
					wy, wu, wv = 168, 119, 124
				}
				if gy, gu, gv := ovYUV(f, x, y); gy != wy || gu != wu || gv != wv {
					t.Errorf("%v (%d,%d): YUV %d,%d,%d, want %d,%d,%d", format, x, y, gy, gu, gv, wy, wu, wv)
				}
			}
		}
		x0, y0, x1, y1, _ := ovChanged(orig, f)
		if x0 != 2 || y0 != 2 || x1 != 10 || y1 != 6 {
			t.Errorf("%v: changed [%d,%d)x[%d,%d), want [2,10)x[2,6)", format, x0, x1, y0, y1)
		}
	}
}

func TestWatermarkAnchorOpacity(t *testing.T) {
	env := testEnv(t)
	for _, format := range ovFormats {
		// Default anchor top-right: x = 64 - 8 - 2 = 54, y = 2.
		f := ovFrame(format, 64, 48, 100, 110, 120)
		orig := ovCopy(f)
		ovChain(t, env, `[{"op":"watermark","image":"logo.png","scale":0.125}]`, 64, 48, format).Apply(f, gpu.FrameInfo{})
		if x0, y0, x1, y1, _ := ovChanged(orig, f); x0 != 54 || y0 != 2 || x1 != 62 || y1 != 6 {
			t.Errorf("%v top-right: changed [%d,%d)x[%d,%d), want [54,62)x[2,6)", format, x0, x1, y0, y1)
		}
		// Opacity 0.5 -> level 128: red a = (255*128+127)/255 = 128:
		// Y = (100*127 + 82*128 + 127)/255 = 91.
		f = ovFrame(format, 64, 48, 100, 110, 120)
		ovChain(t, env, `[{"op":"watermark","image":"logo.png","scale":0.125,"at":"bottom-right","opacity":0.5}]`, 64, 48, format).Apply(f, gpu.FrameInfo{})
		if y, _, _ := ovYUV(f, 54, 42); y != 91 {
			t.Errorf("%v opacity 0.5: Y %d, want 91", format, y)
		}
		// Opacity 0 is the identity, on any content.
		f = ovNoise(format, 64, 48)
		orig = ovCopy(f)
		ovChain(t, env, `[{"op":"watermark","image":"logo.png","opacity":0}]`, 64, 48, format).Apply(f, gpu.FrameInfo{})
		if _, _, _, _, any := ovChanged(orig, f); any {
			t.Errorf("%v: opacity 0 changed the frame", format)
		}
	}
}

func TestWatermarkScaled(t *testing.T) {
	env := testEnv(t)
	// Default scale 0.15 of 320 = 48 wide, 24 high; an area filter keeps
	// the halves' colours away from their shared edge.
	f := ovFrame(gpu.NV12, 320, 180, 100, 110, 120)
	orig := ovCopy(f)
	ovChain(t, env, `[{"op":"watermark","image":"logo.png","at":"center"}]`, 320, 180, gpu.NV12).Apply(f, gpu.FrameInfo{})
	x0, y0, x1, y1, _ := ovChanged(orig, f)
	if x1-x0 != 48 || y1-y0 != 24 {
		t.Fatalf("scaled picture covers %dx%d, want 48x24", x1-x0, y1-y0)
	}
	if y, u, v := ovYUV(f, x0+4, y0+4); y != 82 || u != 90 || v != 240 {
		t.Errorf("red half: %d,%d,%d", y, u, v)
	}
	if y, _, _ := ovYUV(f, x1-4, y0+4); y != 168 {
		t.Errorf("white half: Y %d", y)
	}
}

func TestWatermarkValidation(t *testing.T) {
	env := testEnv(t)
	dir := env.AssetsDir
	if err := os.WriteFile(filepath.Join(dir, "text.png"), []byte("not a picture"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestPNG(t, dir, "sub/ok.png")
	if _, err := gpu.ParseChain([]byte(`[{"op":"watermark","image":"sub/ok.png"}]`), env); err != nil {
		t.Fatalf("a picture in a subfolder: %v", err)
	}
	small := env
	small.Limits.MaxImagePixels = 31 // the picture has 32
	ovFieldErr(t, small, `[{"op":"watermark","image":"logo.png"}]`, "image")
	tiny := env
	tiny.Limits.MaxImageBytes = 20
	ovFieldErr(t, tiny, `[{"op":"watermark","image":"logo.png"}]`, "image")
	none := env
	none.AssetsDir = ""
	ovFieldErr(t, none, `[{"op":"watermark","image":"logo.png"}]`, "image")
	abs := filepath.Join(dir, "logo.png")
	for _, c := range []struct{ js, field string }{
		{`[{"op":"watermark"}]`, "image"},
		{`[{"op":"watermark","image":"missing.png"}]`, "image"},
		{`[{"op":"watermark","image":"text.png"}]`, "image"},
		{`[{"op":"watermark","image":"sub"}]`, "image"},
		{`[{"op":"watermark","image":"../logo.png"}]`, "image"},
		{`[{"op":"watermark","image":"sub/../../logo.png"}]`, "image"},
		{fmt.Sprintf(`[{"op":"watermark","image":%q}]`, abs), "image"},
		{`[{"op":"watermark","image":"logo.png","opacity":1.5}]`, "opacity"},
		{`[{"op":"watermark","image":"logo.png","scale":0}]`, "scale"},
		{`[{"op":"watermark","image":"logo.png","scale":1.01}]`, "scale"},
		{`[{"op":"watermark","image":"logo.png","at":"middle"}]`, "at"},
		{`[{"op":"watermark","image":"logo.png","size":1}]`, "size"},
	} {
		ovFieldErr(t, env, c.js, c.field)
	}
	// A symbolic link out of the assets directory is refused too.
	outside := t.TempDir()
	writeTestPNG(t, outside, "secret.png")
	if err := os.Symlink(filepath.Join(outside, "secret.png"), filepath.Join(dir, "link.png")); err == nil {
		ovFieldErr(t, env, `[{"op":"watermark","image":"link.png"}]`, "image")
	}
}

func TestWatermarkApplyAllocs(t *testing.T) {
	env := testEnv(t)
	for _, format := range ovFormats {
		c := ovChain(t, env, `[{"op":"watermark","image":"logo.png","opacity":0.7}]`, 320, 180, format)
		f := ovNoise(format, 320, 180)
		if n := testing.AllocsPerRun(50, func() { _ = c.Apply(f, gpu.FrameInfo{}) }); n != 0 {
			t.Errorf("%v: %v allocations per frame", format, n)
		}
	}
}

// TestWatermarkPNGKinds: opaque RGB (decoded premultiplied) and grey PNGs
// give their colours.
func TestWatermarkPNGKinds(t *testing.T) {
	dir := t.TempDir()
	rgb := image.NewRGBA(image.Rect(0, 0, 8, 4))
	gray := image.NewGray(image.Rect(0, 0, 8, 4))
	for i := 0; i < len(rgb.Pix); i += 4 {
		copy(rgb.Pix[i:], []byte{0, 0, 255, 255})
	}
	for i := range gray.Pix {
		gray.Pix[i] = 128
	}
	for name, img := range map[string]image.Image{"rgb.png": rgb, "gray.png": gray} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	env := gpu.Env{Limits: gpu.DefaultLimits(), AssetsDir: dir}
	for name, want := range map[string][3]byte{"rgb.png": {41, 240, 110}, "gray.png": {126, 128, 128}} {
		f := ovFrame(gpu.YUV420P, 64, 48, 100, 110, 120)
		ovChain(t, env, `[{"op":"watermark","image":"`+name+`","scale":0.125,"at":"top-left"}]`, 64, 48, gpu.YUV420P).Apply(f, gpu.FrameInfo{})
		if y, u, v := ovYUV(f, 4, 4); [3]byte{y, u, v} != want {
			t.Errorf("%s: %d,%d,%d, want %v", name, y, u, v, want)
		}
	}
}
