package cpu

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

func init() { Register("pixelate", newPixelate) }

// pixelateOp replaces each block of a rect by its mean, plane by plane.
type pixelateOp struct {
	w, h   int
	format gpu.PixelFormat
	spans  [3]span
	block  int // luma block size; chroma uses block/2
	rows   int // block rows in the rect
	f      *gpu.Frame
}

var _ Bander = (*pixelateOp)(nil)

func newPixelate(p gpu.Params, w, h int, format gpu.PixelFormat) (Op, error) {
	pp, ok := p.(*gpu.PixelateParams)
	if !ok {
		return nil, fmt.Errorf("pixelate: parameters are %T", p)
	}
	if pp.Block < 2 || pp.Block%2 != 0 {
		return nil, fmt.Errorf("pixelate: block %d: must be even and >= 2", pp.Block)
	}
	x0, y0, x1, y1 := pp.Rect.Pixels(w, h)
	spans, err := rectSpans(format, x0, y0, x1, y1)
	if err != nil {
		return nil, fmt.Errorf("pixelate: %w", err)
	}
	return &pixelateOp{w: w, h: h, format: format, spans: spans, block: pp.Block,
		rows: (y1 - y0 + pp.Block - 1) / pp.Block}, nil
}

func (op *pixelateOp) Apply(f *gpu.Frame, _ gpu.FrameInfo, pool *Pool) error {
	if f.Width != op.w || f.Height != op.h || f.Format != op.format {
		return fmt.Errorf("pixelate: frame is %dx%d %v, prepared for %dx%d %v", f.Width, f.Height, f.Format, op.w, op.h, op.format)
	}
	op.f = f
	pool.Run(op.rows, op)
	op.f = nil
	return nil
}

// Band pixelates block rows [b0, b1) in every plane.
func (op *pixelateOp) Band(b0, b1 int) {
	for i := range op.spans {
		s := &op.spans[i]
		bs := op.block
		if i > 0 {
			bs /= 2
		}
		for by := b0; by < b1; by++ {
			ya, yb := by*bs, min((by+1)*bs, s.h)
			for xa := 0; xa < s.w; xa += bs {
				s.fillMean(op.f, xa, min(xa+bs, s.w), ya, yb)
			}
		}
	}
}

// fillMean sets samples [xa, xb) x [ya, yb) of the span to their rounded
// mean.
func (s *span) fillMean(f *gpu.Frame, xa, xb, ya, yb int) {
	sum := 0
	for y := ya; y < yb; y++ {
		row := s.row(f, y)
		if s.step == 1 {
			for _, v := range row[xa:xb] {
				sum += int(v)
			}
			continue
		}
		for x := xa; x < xb; x++ {
			sum += int(row[x*s.step])
		}
	}
	n := (xb - xa) * (yb - ya)
	mean := byte((sum + n/2) / n)
	for y := ya; y < yb; y++ {
		row := s.row(f, y)
		if s.step == 1 {
			seg := row[xa:xb]
			for x := range seg {
				seg[x] = mean
			}
			continue
		}
		for x := xa; x < xb; x++ {
			row[x*s.step] = mean
		}
	}
}
