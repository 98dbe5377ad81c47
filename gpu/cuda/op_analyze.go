//go:build cuda

package cuda

import (
	"fmt"
	"unsafe"

	"github.com/mutstream/mutstream/gpu"
)

// analyzeOut is the number of 64-bit results of luma_stats: sum, diff,
// 32 histogram bins and the dark count.
const analyzeOut = 35

// analyzeOp measures sampled luma with luma_stats on the GPU and turns the
// few numbers it reads back into gpu.Measure and events on the host, with
// the rules documented on gpu.AnalyzeParams (the same as the CPU backend's).
type analyzeOp struct {
	p          gpu.AnalyzeParams
	cols, rows int
	prev       devBuf // the previous frame's sampled luma, cols*rows
	out        devBuf // analyzeOut uint64
	res        [analyzeOut]uint64
	zero       [analyzeOut]uint64

	sums  gpu.AnalyzeSums
	rules gpu.AnalyzeRules // measures and events, shared with the CPU backend
}

var _ gpu.Measurer = (*analyzeOp)(nil)

func newAnalyze(p gpu.Params, w, h int, _ gpu.PixelFormat) (op, error) {
	ap, ok := p.(*gpu.AnalyzeParams)
	if !ok {
		return nil, fmt.Errorf("analyze: parameters are %T", p)
	}
	if ap.Subsample < 1 {
		return nil, fmt.Errorf("analyze: subsample %d: must be >= 1", ap.Subsample)
	}
	s := ap.Subsample
	o := &analyzeOp{p: *ap, cols: (w + s - 1) / s, rows: (h + s - 1) / s, rules: gpu.AnalyzeRules{P: *ap}}
	var err error
	if o.prev, err = allocBytes(make([]byte, o.cols*o.rows)); err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	if o.out, err = alloc(8 * analyzeOut); err != nil {
		o.close()
		return nil, fmt.Errorf("analyze: %w", err)
	}
	return o, nil
}

// Measure returns the measures of the last frame.
func (o *analyzeOp) Measure() gpu.Measure { return o.rules.Measure() }

func (o *analyzeOp) apply(l *launcher, p *planes, info gpu.FrameInfo) error {
	if err := o.out.upload(u64Bytes(o.zero[:])); err != nil {
		return err
	}
	n := o.cols * o.rows
	blocks := min(ceilDiv(n, reduceDim), 1024)
	if err := l.launch("luma_stats", [3]int{blocks, 1, 1}, [3]int{reduceDim, 1, 1},
		ptrArg(p.ptr[0], 0), intArg(p.pitch[0]), intArg(o.cols), intArg(o.rows), intArg(o.p.Subsample),
		ptrArg(o.prev.ptr, 0), intArg(1), intArg(o.p.BlackLuma+16), ptrArg(o.out.ptr, 0)); err != nil {
		return err
	}
	if err := l.stream.Synchronize(); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	if err := o.out.download(u64Bytes(o.res[:])); err != nil {
		return err
	}
	o.sums = gpu.AnalyzeSums{N: n, Sum: int(o.res[0]), Diff: int(o.res[1]), Dark: int(o.res[34])}
	for b := range o.sums.Hist {
		o.sums.Hist[b] = int(o.res[2+b])
	}
	o.rules.Frame(&o.sums, info)
	return nil
}

func (o *analyzeOp) close() {
	o.prev.free()
	o.out.free()
}

// u64Bytes views v as bytes.
func u64Bytes(v []uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 8*len(v))
}
