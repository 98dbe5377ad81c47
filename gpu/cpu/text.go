package cpu

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

func init() { Register("text", newText) }

// textOp blends a line of text, redrawn by gpu.TextRenderer when its
// placeholders change it, onto every frame.
type textOp struct {
	w, h   int
	format gpu.PixelFormat
	r      *gpu.TextRenderer
	blend  blender
}

func newText(p gpu.Params, w, h int, format gpu.PixelFormat) (Op, error) {
	r, err := gpu.TextRendererFor(p, w, h, format)
	if err != nil {
		return nil, err
	}
	return &textOp{w: w, h: h, format: format, r: r, blend: blender{op: r.Opacity()}}, nil
}

func (op *textOp) Apply(f *gpu.Frame, info gpu.FrameInfo, pool *Pool) error {
	if f.Width != op.w || f.Height != op.h || f.Format != op.format {
		return fmt.Errorf("text: frame is %dx%d %v, prepared for %dx%d %v", f.Width, f.Height, f.Format, op.w, op.h, op.format)
	}
	if op.blend.op <= 0 {
		return nil
	}
	ov, x, y, _ := op.r.Update(info)
	op.blend.ov = ov
	if err := op.blend.run(f, x, y, pool); err != nil {
		return fmt.Errorf("text: %w", err)
	}
	return nil
}
