package cpu

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

func init() { Register("stamp", newStamp) }

// stampOp draws the wall clock's block code over a grey band at the top of
// every frame (see gpu.StampParams).
type stampOp struct {
	w, h   int
	format gpu.PixelFormat
	gpu.StampLayout
	bits  gpu.Stamp
	valid bool // bits hold a code this frame
	f     *gpu.Frame
	cw    int // chroma samples per row
}

var _ Bander = (*stampOp)(nil)

func newStamp(p gpu.Params, w, h int, format gpu.PixelFormat) (Op, error) {
	l, err := gpu.StampLayoutFor(p, w, h, format)
	if err != nil {
		return nil, err
	}
	cw, _ := gpu.ChromaSize(w, h)
	return &stampOp{w: w, h: h, format: format, StampLayout: l, cw: cw}, nil
}

func (op *stampOp) Apply(f *gpu.Frame, info gpu.FrameInfo, pool *Pool) error {
	if f.Width != op.w || f.Height != op.h || f.Format != op.format {
		return fmt.Errorf("stamp: frame is %dx%d %v, prepared for %dx%d %v", f.Width, f.Height, f.Format, op.w, op.h, op.format)
	}
	op.valid = false
	if !info.Wall.IsZero() {
		op.bits, op.valid = gpu.EncodeStamp(info.Wall.UnixMilli())
	}
	op.f = f
	pool.Run(op.Rows/2, op)
	op.f = nil
	return nil
}

// Band draws chroma rows [c0, c1) of the band and their luma rows.
func (op *stampOp) Band(c0, c1 int) {
	f := op.f
	for cy := c0; cy < c1; cy++ {
		for y := 2 * cy; y < 2*cy+2; y++ {
			row := f.Planes[0][y*f.Strides[0]:]
			row = row[:op.w]
			memset(row, gpu.StampGrey)
			if !op.valid || y < op.Top || y >= op.Bot {
				continue
			}
			for i, b := range op.bits {
				v := byte(gpu.StampBlack)
				if b == 1 {
					v = gpu.StampWhite
				}
				memset(row[op.Edges[i]:op.Edges[i+1]], v)
			}
		}
		switch op.format {
		case gpu.YUV420P:
			memset(f.Planes[1][cy*f.Strides[1]:][:op.cw], 128)
			memset(f.Planes[2][cy*f.Strides[2]:][:op.cw], 128)
		case gpu.NV12:
			memset(f.Planes[1][cy*f.Strides[1]:][:2*op.cw], 128)
		}
	}
}

// memset sets every byte of b to v.
func memset(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}
