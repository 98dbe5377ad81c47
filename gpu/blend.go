package gpu

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// Overlay is a picture ready to blend onto frames (a watermark, rendered
// text): its colour already in Y, U and V and its alpha, at the size it is
// drawn at. The colour is straight, not premultiplied by alpha.
//
// Backends blend it onto a frame at an even position (x, y) with an
// opacity level op in 0..255 (OpacityLevel), sample by sample:
//
//	luma:   a = A[j][i]
//	chroma: a = (A[2j][2i] + A[2j][2i+1] + A[2j+1][2i] + A[2j+1][2i+1] + 2) / 4
//	both:   a = (a*op + 127) / 255       (skipped when op is 255)
//	        out = (in*(255 - a) + ov*a + 127) / 255
//
// in integers (division truncating), where ov is the overlay's Y, U or V
// sample and in the frame's. A sample with a = 0 is left as it is. The
// CUDA kernel blend_plane (gpu/kernels/blend.cu) computes exactly this.
type Overlay struct {
	// W and H are the size in pixels, both even.
	W, H int
	// Y and A are the luma and alpha planes, W x H samples at Stride.
	Y, A   []byte
	Stride int
	// U and V are the chroma planes, W/2 x H/2 samples at CStride.
	U, V    []byte
	CStride int
}

// NewOverlayBuffers allocates an overlay able to hold pictures up to
// maxW x maxH (rounded up to even), with W and H set to that size; a
// backend that redraws an overlay (text) sets W and H smaller and reuses
// the planes.
func NewOverlayBuffers(maxW, maxH int) *Overlay {
	w, h := (max(maxW, 2)+1)&^1, (max(maxH, 2)+1)&^1
	return &Overlay{
		W: w, H: h,
		Y: make([]byte, w*h), A: make([]byte, w*h), Stride: w,
		U: make([]byte, w*h/4), V: make([]byte, w*h/4), CStride: w / 2,
	}
}

// OpacityLevel converts an opacity in [0, 1] to the level the blend uses,
// round(opacity * 255), clamped to 0..255.
func OpacityLevel(opacity float64) int {
	if !(opacity > 0) {
		return 0
	}
	return int(math.Min(255, math.Round(opacity*255)))
}

// BlendAlpha is the alpha of one sample at opacity level op: (a*op +
// 127) / 255, or a itself when op is 255.
func BlendAlpha(a, op int) int {
	if op >= 255 {
		return a
	}
	return (a*op + 127) / 255
}

// ChromaAlpha is the alpha of a chroma sample: the rounded mean of the 2x2
// block of luma alphas it covers, (a00 + a01 + a10 + a11 + 2) / 4.
func ChromaAlpha(a00, a01, a10, a11 byte) int {
	return (int(a00) + int(a01) + int(a10) + int(a11) + 2) / 4
}

// BlendSample lays ov over in with alpha a (0..255): (in*(255-a) + ov*a +
// 127) / 255.
func BlendSample(in, ov byte, a int) byte {
	return byte((int(in)*(255-a) + int(ov)*a + 127) / 255)
}

// RGBToYUV converts a full-range RGB colour to BT.601 limited-range Y'CbCr
// with the usual 8-bit integer formulas (>> is an arithmetic shift, so a
// floor division by 256):
//
//	Y = (( 66*R + 129*G +  25*B + 128) >> 8) + 16
//	U = ((-38*R -  74*G + 112*B + 128) >> 8) + 128
//	V = ((112*R -  94*G -  18*B + 128) >> 8) + 128
//
// Y is in 16..235, U and V in 16..240.
func RGBToYUV(r, g, b byte) (y, u, v byte) {
	R, G, B := int32(r), int32(g), int32(b)
	y = byte(((66*R + 129*G + 25*B + 128) >> 8) + 16)
	u = byte(((-38*R - 74*G + 112*B + 128) >> 8) + 128)
	v = byte(((112*R - 94*G - 18*B + 128) >> 8) + 128)
	return y, u, v
}

// ParseColor reads a colour written "#rrggbb" (hex digits of either case).
func ParseColor(s string) (r, g, b byte, err error) {
	if len(s) != 7 || s[0] != '#' {
		return 0, 0, 0, fmt.Errorf("%q: want a colour written #rrggbb", s)
	}
	var c [3]byte
	for i := range 6 {
		d, ok := hexDigit(s[1+i])
		if !ok {
			return 0, 0, 0, fmt.Errorf("%q: want a colour written #rrggbb", s)
		}
		c[i/2] = c[i/2]<<4 | d
	}
	return c[0], c[1], c[2], nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// NewOverlay converts a picture with straight alpha to an overlay of the
// same size, which must be even. Each pixel's Y comes from its own colour
// (RGBToYUV); each chroma sample's U and V come from the alpha-weighted mean
// colour of its 2x2 block,
//
//	R = (sum(R_k*A_k) + S/2) / S    with S = sum(A_k), the same for G and B,
//
// or the plain rounded mean (sum(R_k) + 2) / 4 where the block is fully
// transparent, so that transparent pixels lend no colour to their
// neighbours.
func NewOverlay(img *image.NRGBA) (*Overlay, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 {
		return nil, fmt.Errorf("overlay size %dx%d: must be even and > 0", w, h)
	}
	o := NewOverlayBuffers(w, h)
	for j := range h {
		src := img.Pix[(b.Min.Y+j-img.Rect.Min.Y)*img.Stride+(b.Min.X-img.Rect.Min.X)*4:]
		for i := range w {
			p := src[4*i : 4*i+4 : 4*i+4]
			o.Y[j*o.Stride+i], _, _ = RGBToYUV(p[0], p[1], p[2])
			o.A[j*o.Stride+i] = p[3]
		}
	}
	for j := range h / 2 {
		for i := range w / 2 {
			var sum, wsum [3]int
			s := 0
			for k := range 4 {
				p := img.PixOffset(b.Min.X+2*i+k%2, b.Min.Y+2*j+k/2)
				a := int(img.Pix[p+3])
				s += a
				for c := range 3 {
					v := int(img.Pix[p+c])
					sum[c] += v
					wsum[c] += v * a
				}
			}
			var rgb [3]byte
			for c := range 3 {
				if s > 0 {
					rgb[c] = byte((wsum[c] + s/2) / s)
				} else {
					rgb[c] = byte((sum[c] + 2) / 4)
				}
			}
			_, u, v := RGBToYUV(rgb[0], rgb[1], rgb[2])
			o.U[j*o.CStride+i], o.V[j*o.CStride+i] = u, v
		}
	}
	return o, nil
}

// ToNRGBA returns img with straight alpha: img itself when it is an
// *image.NRGBA at the origin, otherwise a converted copy.
func ToNRGBA(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok && n.Rect.Min == (image.Point{}) {
		return n
	}
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	if rgba, ok := img.(*image.RGBA); ok {
		// Premultiplied: divide the colour by alpha.
		for y := range b.Dy() {
			src := rgba.Pix[rgba.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := out.Pix[y*out.Stride:]
			for x := range b.Dx() {
				s, d := src[4*x:4*x+4:4*x+4], dst[4*x:4*x+4:4*x+4]
				a := int(s[3])
				d[3] = s[3]
				if a == 0 {
					continue
				}
				for c := range 3 {
					d[c] = byte(min(255, (int(s[c])*255+a/2)/a))
				}
			}
		}
		return out
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			i := out.PixOffset(x-b.Min.X, y-b.Min.Y)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = c.R, c.G, c.B, c.A
		}
	}
	return out
}

// ScaleNRGBA resizes a straight-alpha picture to w x h. It filters in
// premultiplied colour, so transparent pixels do not darken the edges:
// each axis shrinking is an area (box) filter over the source pixels each
// output pixel covers, with fractional weights at its ends, and each axis
// growing is bilinear between pixel centres. Done once per chain, in
// floating point.
func ScaleNRGBA(src *image.NRGBA, w, h int) *image.NRGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	if sw <= 0 || sh <= 0 || w <= 0 || h <= 0 {
		return out
	}
	xt, yt := axisTaps(sw, w), axisTaps(sh, h)
	// Rows first, premultiplying as the source is read: sh x w.
	mid := make([]float32, sh*w*4)
	for y := range sh {
		row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
		for x, taps := range xt {
			var acc [4]float64
			for _, t := range taps {
				p := row[4*t.i : 4*t.i+4 : 4*t.i+4]
				a := float64(p[3]) * t.w
				acc[0] += float64(p[0]) * a / 255
				acc[1] += float64(p[1]) * a / 255
				acc[2] += float64(p[2]) * a / 255
				acc[3] += a
			}
			q := mid[(y*w+x)*4 : (y*w+x)*4+4 : (y*w+x)*4+4]
			for c := range 4 {
				q[c] = float32(acc[c])
			}
		}
	}
	for y, taps := range yt {
		for x := range w {
			var acc [4]float64
			for _, t := range taps {
				q := (t.i*w + x) * 4
				for c := range 4 {
					acc[c] += float64(mid[q+c]) * t.w
				}
			}
			p := out.PixOffset(x, y)
			a := acc[3]
			out.Pix[p+3] = roundByte(a)
			if a <= 0 {
				continue
			}
			for c := range 3 {
				out.Pix[p+c] = roundByte(acc[c] * 255 / a)
			}
		}
	}
	return out
}

// tap is one source sample's weight in an output sample.
type tap struct {
	i int
	w float64
}

// axisTaps returns, for each of the dst output positions along an axis of
// src samples, the source samples and weights that make it (weights sum to
// 1).
func axisTaps(src, dst int) [][]tap {
	out := make([][]tap, dst)
	scale := float64(src) / float64(dst)
	for d := range dst {
		if scale >= 1 {
			// Area: the output pixel covers [d*scale, (d+1)*scale).
			lo, hi := float64(d)*scale, float64(d+1)*scale
			for s := int(lo); s < src && float64(s) < hi; s++ {
				wt := math.Min(hi, float64(s+1)) - math.Max(lo, float64(s))
				if wt > 1e-12 {
					out[d] = append(out[d], tap{s, wt / scale})
				}
			}
			continue
		}
		// Bilinear between source centres.
		c := (float64(d)+0.5)*scale - 0.5
		c = math.Max(0, math.Min(float64(src-1), c))
		s0 := int(c)
		f := c - float64(s0)
		if s0+1 < src && f > 1e-12 {
			out[d] = []tap{{s0, 1 - f}, {s0 + 1, f}}
		} else {
			out[d] = []tap{{s0, 1}}
		}
	}
	return out
}

// roundByte rounds v to the nearest sample, halves away from zero, clamped
// to 0..255.
func roundByte(v float64) byte {
	if !(v > 0) {
		return 0
	}
	return byte(math.Min(255, math.Round(v)))
}
