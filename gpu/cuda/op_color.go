//go:build cuda

package cuda

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

// colorOp maps every sample through the tables of gpu.ColorParams.Tables,
// uploaded once as [luma | chroma (U) | chroma (V)].
type colorOp struct {
	luts devBuf
}

func newColor(p gpu.Params, _, _ int, _ gpu.PixelFormat) (op, error) {
	cp, ok := p.(*gpu.ColorParams)
	if !ok {
		return nil, fmt.Errorf("color: parameters are %T", p)
	}
	luma, chroma := cp.Tables()
	tables := make([]byte, 0, 3*256)
	tables = append(tables, luma[:]...)
	tables = append(tables, chroma[:]...)
	tables = append(tables, chroma[:]...)
	d, err := allocBytes(tables)
	if err != nil {
		return nil, fmt.Errorf("color: %w", err)
	}
	return &colorOp{luts: d}, nil
}

func (o *colorOp) apply(l *launcher, p *planes, _ gpu.FrameInfo) error {
	if err := l.grid2D("lut_y", p.w, p.h, 1,
		ptrArg(p.ptr[0], 0), intArg(p.pitch[0]), intArg(0), intArg(0), intArg(p.w), intArg(p.h),
		ptrArg(o.luts.ptr, 0)); err != nil {
		return err
	}
	cw, ch := gpu.ChromaSize(p.w, p.h)
	if p.format == gpu.NV12 {
		return l.grid2D("lut_uv_nv12", cw, ch, 1,
			ptrArg(p.ptr[1], 0), intArg(p.pitch[1]), intArg(0), intArg(0), intArg(cw), intArg(ch),
			ptrArg(o.luts.ptr, 256))
	}
	return l.grid2D("lut_uv_yuv420p", cw, ch, 2,
		ptrArg(p.ptr[1], 0), intArg(p.pitch[1]), ptrArg(p.ptr[2], 0), intArg(p.pitch[2]),
		intArg(0), intArg(0), intArg(cw), intArg(ch), ptrArg(o.luts.ptr, 256))
}

func (o *colorOp) close() { o.luts.free() }
