package cpu

import (
	"bytes"
	"image"
	"image/color"
	"testing"

	"github.com/mutstream/mutstream/gpu"
)

var ovFormats = []gpu.PixelFormat{gpu.YUV420P, gpu.NV12}

// ovFrame returns a frame filled with y, u and v.
func ovFrame(format gpu.PixelFormat, w, h int, y, u, v byte) *gpu.Frame {
	f := gpu.NewFrame(format, w, h)
	for i := range f.Planes[0] {
		f.Planes[0][i] = y
	}
	switch format {
	case gpu.YUV420P:
		for i := range f.Planes[1] {
			f.Planes[1][i], f.Planes[2][i] = u, v
		}
	case gpu.NV12:
		for i := 0; i < len(f.Planes[1]); i += 2 {
			f.Planes[1][i], f.Planes[1][i+1] = u, v
		}
	}
	return f
}

// ovNoise returns a frame of pseudo-random samples.
func ovNoise(format gpu.PixelFormat, w, h int) *gpu.Frame {
	f := gpu.NewFrame(format, w, h)
	s := uint32(7)
	for _, p := range f.Planes {
		for i := range p {
			s = s*1664525 + 1013904223
			p[i] = byte(s >> 24)
		}
	}
	return f
}

// ovCopy returns a deep copy of f.
func ovCopy(f *gpu.Frame) *gpu.Frame {
	c := *f
	for i, p := range f.Planes {
		c.Planes[i] = bytes.Clone(p)
	}
	return &c
}

// ovYUV returns the Y sample at (x, y) and the U and V samples of the
// chroma sample covering it.
func ovYUV(f *gpu.Frame, x, y int) (byte, byte, byte) {
	Y := f.Planes[0][y*f.Strides[0]+x]
	cx, cy := x/2, y/2
	if f.Format == gpu.NV12 {
		r := f.Planes[1][cy*f.Strides[1]:]
		return Y, r[2*cx], r[2*cx+1]
	}
	return Y, f.Planes[1][cy*f.Strides[1]+cx], f.Planes[2][cy*f.Strides[2]+cx]
}

// ovChanged lists the luma pixels and chroma samples (at luma coordinates
// of their top-left pixel) where a and b differ, as a bounding box.
func ovChanged(a, b *gpu.Frame) (x0, y0, x1, y1 int, any bool) {
	x0, y0 = a.Width, a.Height
	for y := range a.Height {
		for x := range a.Width {
			ya, ua, va := ovYUV(a, x, y)
			yb, ub, vb := ovYUV(b, x, y)
			if ya != yb || ua != ub || va != vb {
				x0, y0, x1, y1, any = min(x0, x), min(y0, y), max(x1, x+1), max(y1, y+1), true
			}
		}
	}
	return
}

func TestRGBToYUV(t *testing.T) {
	cases := []struct {
		r, g, b, y, u, v byte
	}{
		{255, 255, 255, 235, 128, 128},
		{0, 0, 0, 16, 128, 128},
		{128, 128, 128, 126, 128, 128},
		{255, 0, 0, 82, 90, 240},
		{0, 255, 0, 144, 54, 34},
		{0, 0, 255, 41, 240, 110},
	}
	for _, c := range cases {
		y, u, v := gpu.RGBToYUV(c.r, c.g, c.b)
		if y != c.y || u != c.u || v != c.v {
			t.Errorf("RGB %d,%d,%d: YUV %d,%d,%d, want %d,%d,%d", c.r, c.g, c.b, y, u, v, c.y, c.u, c.v)
		}
	}
}

func TestNewOverlayChromaWeightsByAlpha(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	img.SetNRGBA(1, 0, color.NRGBA{0, 255, 0, 0})
	img.SetNRGBA(0, 1, color.NRGBA{0, 0, 255, 0})
	img.SetNRGBA(1, 1, color.NRGBA{0, 255, 0, 0})
	ov, err := gpu.NewOverlay(img)
	if err != nil {
		t.Fatal(err)
	}
	if ov.U[0] != 90 || ov.V[0] != 240 {
		t.Fatalf("chroma %d,%d: want red's 90,240 (transparent pixels lend no colour)", ov.U[0], ov.V[0])
	}
	if ov.Y[0] != 82 || ov.A[0] != 255 || ov.A[1] != 0 || ov.Y[1] != 144 {
		t.Fatalf("Y %v A %v", ov.Y[:4], ov.A[:4])
	}
	if _, err := gpu.NewOverlay(image.NewNRGBA(image.Rect(0, 0, 3, 2))); err == nil {
		t.Fatal("odd overlay accepted")
	}
}

// TestBlendGolden blends a 4x4 overlay with known alphas and checks each
// sample against the documented formula, worked out by hand.
func TestBlendGolden(t *testing.T) {
	ov := gpu.NewOverlayBuffers(4, 4)
	// Luma alphas by row; colour Y=200, U=50, V=220 everywhere.
	alphas := [4][4]byte{
		{255, 255, 0, 0},
		{255, 255, 0, 64},
		{128, 128, 10, 20},
		{128, 128, 30, 40},
	}
	for j := range 4 {
		for i := range 4 {
			ov.Y[j*ov.Stride+i], ov.A[j*ov.Stride+i] = 200, alphas[j][i]
		}
	}
	for i := range ov.U {
		ov.U[i], ov.V[i] = 50, 220
	}
	for _, format := range ovFormats {
		for _, op := range []int{255, 128} {
			f := ovFrame(format, 8, 8, 100, 110, 120)
			orig := ovCopy(f)
			pool := NewPool(2)
			b := &blender{ov: ov, op: op}
			if err := b.run(f, 2, 4, pool); err != nil {
				t.Fatal(err)
			}
			pool.Close()
			// Hand-worked values (a = alpha, then (a*op+127)/255 at op 128).
			type want struct {
				x, y    int
				Y, U, V byte
			}
			var wants []want
			if op == 255 {
				// Chroma alphas: (0,0)-(1,1) block 255; (2,0)-(3,1) (0+0+0+64+2)/4 = 16;
				// (0,2)-(1,3) 128; (2,2)-(3,3) (10+20+30+40+2)/4 = 25.
				wants = []want{
					{2, 4, 200, 50, 220},  // a 255: the overlay
					{4, 4, 100, 106, 126}, // Y a 0; U (110*239+50*16+127)/255 = 106, V (120*239+220*16+127)/255 = 126
					{5, 5, 125, 106, 126}, // a 64: (100*191+200*64+127)/255 = 125
					{2, 6, 150, 80, 170},  // a 128: (100*127+200*128+127)/255 = 150; U (110*127+50*128+127)/255 = 80, V 170
					{4, 6, 104, 104, 130}, // a 10: (100*245+200*10+127)/255 = 104; U (110*230+50*25+127)/255 = 104, V (120*230+220*25+127)/255 = 130
				}
			} else {
				// op 128: a 255 -> 128, 64 -> 32, 128 -> 64, 10 -> 5; chroma 16 -> 8, 25 -> 13.
				wants = []want{
					{2, 4, 150, 80, 170},  // (100*127+200*128+127)/255 = 150
					{4, 4, 100, 108, 123}, // U (110*247+50*8+127)/255 = 108, V (120*247+220*8+127)/255 = 123
					{5, 5, 113, 108, 123}, // (100*223+200*32+127)/255 = 113
					{2, 6, 125, 95, 145},  // a 64: (100*191+200*64+127)/255 = 125; U (110*191+50*64+127)/255 = 95, V (120*191+220*64+127)/255 = 145
					{4, 6, 102, 107, 125}, // a 5: (100*250+1000+127)/255 = 102; U (110*242+50*13+127)/255 = 107, V (120*242+220*13+127)/255 = 125
				}
			}
			for _, w := range wants {
				y, u, v := ovYUV(f, w.x, w.y)
				if y != w.Y || u != w.U || v != w.V {
					t.Errorf("%v op %d at (%d,%d): YUV %d,%d,%d, want %d,%d,%d", format, op, w.x, w.y, y, u, v, w.Y, w.U, w.V)
				}
			}
			x0, y0, x1, y1, _ := ovChanged(orig, f)
			if x0 < 2 || y0 < 4 || x1 > 6 || y1 > 8 {
				t.Errorf("%v op %d: changes in [%d,%d)x[%d,%d), outside the overlay", format, op, x0, x1, y0, y1)
			}
		}
	}
}

func TestBlendClipsAndOpacityZero(t *testing.T) {
	ov := gpu.NewOverlayBuffers(4, 4)
	for i := range ov.A {
		ov.Y[i], ov.A[i] = 235, 255
	}
	for i := range ov.U {
		ov.U[i], ov.V[i] = 90, 240
	}
	pool := NewPool(2)
	defer pool.Close()
	for _, format := range ovFormats {
		f := ovNoise(format, 8, 6)
		orig := ovCopy(f)
		if err := (&blender{ov: ov, op: 0}).run(f, 2, 2, pool); err != nil {
			t.Fatal(err)
		}
		if _, _, _, _, any := ovChanged(orig, f); any {
			t.Errorf("%v: opacity 0 changed the frame", format)
		}
		if err := (&blender{ov: ov, op: 255}).run(f, 6, 4, pool); err != nil {
			t.Fatal(err)
		}
		x0, y0, x1, y1, _ := ovChanged(orig, f)
		if x0 != 6 || y0 != 4 || x1 != 8 || y1 != 6 {
			t.Errorf("%v: clipped overlay changed [%d,%d)x[%d,%d), want [6,8)x[4,6)", format, x0, x1, y0, y1)
		}
		if y, u, v := ovYUV(f, 7, 5); y != 235 || u != 90 || v != 240 {
			t.Errorf("%v: clipped sample %d,%d,%d", format, y, u, v)
		}
		if err := (&blender{ov: ov, op: 255}).run(f, 1, 2, pool); err == nil {
			t.Errorf("%v: odd position accepted", format)
		}
	}
}
