//go:build cuda

package cuda

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

// overlayOp blends a gpu.Overlay at an even position with the kernel
// blend_plane, which computes the formulas documented on gpu.Overlay. The
// device buffers hold the overlay's planes at their full size: the
// watermark's are uploaded once per chain, the text op's again whenever
// its text changes (reload).
type overlayOp struct {
	y, u, v, a devBuf
	ov         *gpu.Overlay
	x, yPos    int
	level      int
}

func newWatermark(p gpu.Params, w, h int, _ gpu.PixelFormat) (op, error) {
	wp, ok := p.(*gpu.WatermarkParams)
	if !ok {
		return nil, fmt.Errorf("watermark: parameters are %T", p)
	}
	ov, x, y, err := wp.Overlay(w, h)
	if err != nil {
		return nil, fmt.Errorf("watermark: %w", err)
	}
	o, err := newOverlayOp(ov, x, y, gpu.OpacityLevel(wp.Opacity))
	if err != nil {
		return nil, fmt.Errorf("watermark: %w", err)
	}
	return o, nil
}

// newOverlayOp uploads ov's planes, to be blended at (x, y) at opacity
// level.
func newOverlayOp(ov *gpu.Overlay, x, y, level int) (*overlayOp, error) {
	if err := evenOverlay(ov, x, y); err != nil {
		return nil, err
	}
	o := &overlayOp{ov: ov, x: x, yPos: y, level: level}
	for _, pl := range []struct {
		dst *devBuf
		src []byte
	}{{&o.y, ov.Y}, {&o.a, ov.A}, {&o.u, ov.U}, {&o.v, ov.V}} {
		d, err := allocBytes(pl.src)
		if err != nil {
			o.close()
			return nil, err
		}
		*pl.dst = d
	}
	return o, nil
}

// evenOverlay checks that ov's size and its position (x, y) are even, as
// blend_plane's chroma needs.
func evenOverlay(ov *gpu.Overlay, x, y int) error {
	if ov.W%2 != 0 || ov.H%2 != 0 || x%2 != 0 || y%2 != 0 {
		return fmt.Errorf("overlay %dx%d at (%d, %d): size and position must be even", ov.W, ov.H, x, y)
	}
	return nil
}

// reload copies the overlay's planes again after the host redrew them in
// place, only the rows in use (H luma rows, H/2 chroma rows), to be
// blended at (x, y).
func (o *overlayOp) reload(x, y int) error {
	ov := o.ov
	if err := evenOverlay(ov, x, y); err != nil {
		return err
	}
	n, cn := ov.H*ov.Stride, ov.H/2*ov.CStride
	if err := o.y.upload(ov.Y[:n]); err != nil {
		return err
	}
	if err := o.a.upload(ov.A[:n]); err != nil {
		return err
	}
	if err := o.u.upload(ov.U[:cn]); err != nil {
		return err
	}
	if err := o.v.upload(ov.V[:cn]); err != nil {
		return err
	}
	o.x, o.yPos = x, y
	return nil
}

func (o *overlayOp) apply(l *launcher, p *planes, _ gpu.FrameInfo) error {
	if o.level <= 0 {
		return nil
	}
	ov := o.ov
	fx0, fy0 := max(o.x, 0), max(o.yPos, 0)
	fx1, fy1 := min(o.x+ov.W, p.w&^1), min(o.yPos+ov.H, p.h&^1)
	if fx1 <= fx0 || fy1 <= fy0 {
		return nil
	}
	ox, oy := fx0-o.x, fy0-o.yPos // even: position and size are
	w, h := fx1-fx0, fy1-fy0
	aOff := oy*ov.Stride + ox
	if err := l.grid2D("blend_plane", w, h, 1,
		ptrArg(p.ptr[0], 0), intArg(p.pitch[0]), intArg(1), intArg(fx0), intArg(fy0), intArg(w), intArg(h),
		ptrArg(o.y.ptr, aOff), ptrArg(o.y.ptr, aOff), intArg(ov.Stride),
		ptrArg(o.a.ptr, aOff), intArg(ov.Stride), intArg(0), intArg(o.level)); err != nil {
		return err
	}
	cOff := oy/2*ov.CStride + ox/2
	cw, ch := w/2, h/2
	if p.format == gpu.NV12 {
		return l.grid2D("blend_plane", cw, ch, 2,
			ptrArg(p.ptr[1], 0), intArg(p.pitch[1]), intArg(2), intArg(fx0/2), intArg(fy0/2), intArg(cw), intArg(ch),
			ptrArg(o.u.ptr, cOff), ptrArg(o.v.ptr, cOff), intArg(ov.CStride),
			ptrArg(o.a.ptr, aOff), intArg(ov.Stride), intArg(1), intArg(o.level))
	}
	for i, src := range []devBuf{o.u, o.v} {
		if err := l.grid2D("blend_plane", cw, ch, 1,
			ptrArg(p.ptr[1+i], 0), intArg(p.pitch[1+i]), intArg(1), intArg(fx0/2), intArg(fy0/2), intArg(cw), intArg(ch),
			ptrArg(src.ptr, cOff), ptrArg(src.ptr, cOff), intArg(ov.CStride),
			ptrArg(o.a.ptr, aOff), intArg(ov.Stride), intArg(1), intArg(o.level)); err != nil {
			return err
		}
	}
	return nil
}

func (o *overlayOp) close() {
	o.y.free()
	o.u.free()
	o.v.free()
	o.a.free()
}
