package cpu

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

func init() { Register("color", newColor) }

// colorOp maps luma and chroma through tables built once.
type colorOp struct {
	luma, chroma [256]byte
	identL       bool // luma table is the identity
	identC       bool // chroma table is the identity
	f            *gpu.Frame
}

var _ Bander = (*colorOp)(nil)

func newColor(p gpu.Params, w, h int, format gpu.PixelFormat) (Op, error) {
	cp, ok := p.(*gpu.ColorParams)
	if !ok {
		return nil, fmt.Errorf("color: parameters are %T", p)
	}
	op := &colorOp{}
	op.luma, op.chroma = cp.Tables()
	op.identL, op.identC = true, true
	for i := range 256 {
		op.identL = op.identL && op.luma[i] == byte(i)
		op.identC = op.identC && op.chroma[i] == byte(i)
	}
	return op, nil
}

func (op *colorOp) Apply(f *gpu.Frame, _ gpu.FrameInfo, pool *Pool) error {
	if op.identL && op.identC {
		return nil
	}
	op.f = f
	pool.Run(f.Height, op)
	op.f = nil
	return nil
}

// Band maps luma rows [y0, y1) and the chroma rows of the even ones.
func (op *colorOp) Band(y0, y1 int) {
	f := op.f
	if !op.identL {
		for y := y0; y < y1; y++ {
			row := f.Planes[0][y*f.Strides[0] : y*f.Strides[0]+f.Width]
			mapRow(row, &op.luma)
		}
	}
	if op.identC {
		return
	}
	cw, _ := gpu.ChromaSize(f.Width, f.Height)
	for c := (y0 + 1) / 2; c < (y1+1)/2; c++ {
		switch f.Format {
		case gpu.YUV420P:
			mapRow(f.Planes[1][c*f.Strides[1]:c*f.Strides[1]+cw], &op.chroma)
			mapRow(f.Planes[2][c*f.Strides[2]:c*f.Strides[2]+cw], &op.chroma)
		case gpu.NV12:
			mapRow(f.Planes[1][c*f.Strides[1]:c*f.Strides[1]+2*cw], &op.chroma)
		}
	}
}

func mapRow(row []byte, t *[256]byte) {
	for i, v := range row {
		row[i] = t[v]
	}
}
