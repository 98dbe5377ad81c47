//go:build cuda

package cuda

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

// pixelateOp is gpu.PixelateParams: blocks of Block luma pixels (Block/2
// chroma samples) from the rect's top-left corner, each set to its mean
// (sum + n/2) / n, one CUDA block per pixel block.
type pixelateOp struct {
	regions []region
	block   []int
}

func newPixelate(p gpu.Params, w, h int, format gpu.PixelFormat) (op, error) {
	pp, ok := p.(*gpu.PixelateParams)
	if !ok {
		return nil, fmt.Errorf("pixelate: parameters are %T", p)
	}
	if pp.Block < 2 || pp.Block%2 != 0 {
		return nil, fmt.Errorf("pixelate: block %d: must be even and >= 2", pp.Block)
	}
	x0, y0, x1, y1 := pp.Rect.Pixels(w, h)
	o := &pixelateOp{regions: regions(format, x0, y0, x1, y1)}
	for i := range o.regions {
		b := pp.Block
		if i > 0 {
			b /= 2
		}
		o.block = append(o.block, b)
	}
	return o, nil
}

func (o *pixelateOp) apply(l *launcher, p *planes, _ gpu.FrameInfo) error {
	for i, rg := range o.regions {
		b := o.block[i]
		grid := [3]int{ceilDiv(rg.w(), b), ceilDiv(rg.h(), b), rg.comps}
		if err := l.launch("block_mean", grid, [3]int{reduceDim, 1, 1},
			ptrArg(p.ptr[rg.plane], 0), intArg(p.pitch[rg.plane]), intArg(rg.step),
			intArg(rg.x0), intArg(rg.y0), intArg(rg.x1), intArg(rg.y1),
			intArg(rg.x0), intArg(rg.y0), intArg(b), intArg(b)); err != nil {
			return err
		}
	}
	return nil
}

func (o *pixelateOp) close() {}
