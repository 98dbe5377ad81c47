package cpu

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

// blender lays a gpu.Overlay over frames at a position with an opacity,
// with the integer formulas documented on gpu.Overlay. It is the Bander
// of its job: bands are chroma rows of the visible part, each with its two
// luma rows, so bands never share a sample.
type blender struct {
	ov *gpu.Overlay
	op int // opacity level 0..255

	// The current job, set by run.
	f              *gpu.Frame
	fx, fy         int // frame position of the visible part's top-left
	ox, oy         int // overlay position of the same pixel
	w, h           int // visible size, even
	cstep          int // 1 for YUV420P, 2 for NV12
	uPlane, vPlane int
	uOff, vOff     int // byte offset of U and V in a chroma sample
}

var _ Bander = (*blender)(nil)

// run blends b.ov onto f with its top-left corner at (x, y), both even,
// clipping what lies outside the frame.
func (b *blender) run(f *gpu.Frame, x, y int, pool *Pool) error {
	if x%2 != 0 || y%2 != 0 {
		return fmt.Errorf("overlay position (%d, %d): must be even", x, y)
	}
	ov := b.ov
	if ov.W%2 != 0 || ov.H%2 != 0 {
		return fmt.Errorf("overlay size %dx%d: must be even", ov.W, ov.H)
	}
	if b.op <= 0 {
		return nil
	}
	fx0, fy0 := max(x, 0), max(y, 0)
	fx1, fy1 := min(x+ov.W, f.Width&^1), min(y+ov.H, f.Height&^1)
	if fx1 <= fx0 || fy1 <= fy0 {
		return nil
	}
	b.f = f
	b.fx, b.fy, b.ox, b.oy = fx0, fy0, fx0-x, fy0-y
	b.w, b.h = fx1-fx0, fy1-fy0
	switch f.Format {
	case gpu.YUV420P:
		b.cstep, b.uPlane, b.vPlane, b.uOff, b.vOff = 1, 1, 2, 0, 0
	case gpu.NV12:
		b.cstep, b.uPlane, b.vPlane, b.uOff, b.vOff = 2, 1, 1, 0, 1
	default:
		return fmt.Errorf("pixel format %v not supported", f.Format)
	}
	pool.Run(b.h/2, b)
	b.f = nil
	return nil
}

// Band blends chroma rows [c0, c1) of the visible part and the luma rows
// they cover.
func (b *blender) Band(c0, c1 int) {
	f, ov, op := b.f, b.ov, b.op
	ys := f.Strides[0]
	for cy := c0; cy < c1; cy++ {
		for k := range 2 {
			ly := 2*cy + k
			dst := f.Planes[0][(b.fy+ly)*ys+b.fx:]
			dst = dst[:b.w]
			src := ov.Y[(b.oy+ly)*ov.Stride+b.ox:]
			src = src[:b.w]
			al := ov.A[(b.oy+ly)*ov.Stride+b.ox:]
			al = al[:b.w]
			for i := range dst {
				a := gpu.BlendAlpha(int(al[i]), op)
				if a == 0 {
					continue
				}
				dst[i] = gpu.BlendSample(dst[i], src[i], a)
			}
		}
		a0 := ov.A[(b.oy+2*cy)*ov.Stride+b.ox:]
		a1 := ov.A[(b.oy+2*cy+1)*ov.Stride+b.ox:]
		a0, a1 = a0[:b.w], a1[:b.w]
		crow := (b.oy/2 + cy) * ov.CStride
		us := ov.U[crow+b.ox/2 : crow+b.ox/2+b.w/2]
		vs := ov.V[crow+b.ox/2 : crow+b.ox/2+b.w/2]
		fcy := b.fy/2 + cy
		urow := f.Planes[b.uPlane][fcy*f.Strides[b.uPlane]:]
		vrow := f.Planes[b.vPlane][fcy*f.Strides[b.vPlane]:]
		for i := range us {
			a := gpu.BlendAlpha(gpu.ChromaAlpha(a0[2*i], a0[2*i+1], a1[2*i], a1[2*i+1]), op)
			if a == 0 {
				continue
			}
			p := (b.fx/2+i)*b.cstep + b.uOff
			q := (b.fx/2+i)*b.cstep + b.vOff
			urow[p] = gpu.BlendSample(urow[p], us[i], a)
			vrow[q] = gpu.BlendSample(vrow[q], vs[i], a)
		}
	}
}
