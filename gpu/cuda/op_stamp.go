//go:build cuda

package cuda

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

// noBlock marks a luma column outside every block of the stamp code.
const noBlock = 255

// stampOp is gpu.StampParams, drawn by stamp_band: the grey band, the
// frame's code in its block rows and neutral chroma under the band. The
// table of which block each luma column lies in is built once, from the
// same clamped block edges as the CPU backend's, and uploaded; each frame
// passes its code (gpu.EncodeStamp of the wall clock) as a kernel
// argument, so a frame costs one launch and no copy.
type stampOp struct {
	w int
	gpu.StampLayout
	cols devBuf // w bytes: the block of each luma column, or noBlock
}

func newStamp(p gpu.Params, w, h int, format gpu.PixelFormat) (op, error) {
	l, err := gpu.StampLayoutFor(p, w, h, format)
	if err != nil {
		return nil, err
	}
	cols := make([]byte, w)
	for x := range cols {
		cols[x] = noBlock
	}
	for i := range gpu.StampBlocks {
		for x := l.Edges[i]; x < l.Edges[i+1]; x++ {
			cols[x] = byte(i)
		}
	}
	o := &stampOp{w: w, StampLayout: l}
	d, err := allocBytes(cols)
	if err != nil {
		return nil, fmt.Errorf("stamp: %w", err)
	}
	o.cols = d
	return o, nil
}

func (o *stampOp) apply(l *launcher, p *planes, info gpu.FrameInfo) error {
	var bits uint64
	valid := 0
	if !info.Wall.IsZero() {
		if s, ok := gpu.EncodeStamp(info.Wall.UnixMilli()); ok {
			for i, b := range s {
				if b == 1 {
					bits |= 1 << i
				}
			}
			valid = 1
		}
	}
	// The chroma samples' components: U and V planes, or NV12's
	// interleaved U,V.
	u, up, v, vp, step := ptrArg(p.ptr[1], 0), p.pitch[1], ptrArg(p.ptr[2], 0), p.pitch[2], 1
	if p.format == gpu.NV12 {
		v, vp, step = ptrArg(p.ptr[1], 1), p.pitch[1], 2
	}
	if err := l.grid2D("stamp_band", o.w, o.Rows, 1,
		ptrArg(p.ptr[0], 0), intArg(p.pitch[0]), intArg(o.w), intArg(o.Rows),
		u, intArg(up), v, intArg(vp), intArg(step),
		ptrArg(o.cols.ptr, 0), intArg(o.Top), intArg(o.Bot), arg(bits), intArg(valid),
		intArg(gpu.StampGrey), intArg(gpu.StampBlack), intArg(gpu.StampWhite)); err != nil {
		return fmt.Errorf("stamp: %w", err)
	}
	return nil
}

func (o *stampOp) close() { o.cols.free() }
