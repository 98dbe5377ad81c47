package cpu

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

func init() { Register("watermark", newWatermark) }

// watermarkOp blends a picture, scaled and converted once, at a fixed
// place on every frame.
type watermarkOp struct {
	w, h   int
	format gpu.PixelFormat
	x, y   int
	blend  blender
}

func newWatermark(p gpu.Params, w, h int, format gpu.PixelFormat) (Op, error) {
	wp, ok := p.(*gpu.WatermarkParams)
	if !ok {
		return nil, fmt.Errorf("watermark: parameters are %T", p)
	}
	ov, x, y, err := wp.Overlay(w, h)
	if err != nil {
		return nil, fmt.Errorf("watermark: %w", err)
	}
	return &watermarkOp{w: w, h: h, format: format, x: x, y: y,
		blend: blender{ov: ov, op: gpu.OpacityLevel(wp.Opacity)}}, nil
}

func (op *watermarkOp) Apply(f *gpu.Frame, _ gpu.FrameInfo, pool *Pool) error {
	if f.Width != op.w || f.Height != op.h || f.Format != op.format {
		return fmt.Errorf("watermark: frame is %dx%d %v, prepared for %dx%d %v", f.Width, f.Height, f.Format, op.w, op.h, op.format)
	}
	if err := op.blend.run(f, op.x, op.y, pool); err != nil {
		return fmt.Errorf("watermark: %w", err)
	}
	return nil
}
