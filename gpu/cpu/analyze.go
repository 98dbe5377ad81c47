package cpu

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

func init() { Register("analyze", newAnalyze) }

// analyzeBins is the number of bins of the luma histogram.
const analyzeBins = gpu.AnalyzeBins

// rowStats is what one sampled row contributes to a frame's measures.
type rowStats struct {
	sum  int // sum of samples
	dark int // samples <= black luma + 16
	diff int // sum of |cur - prev|
	hist [analyzeBins]int32
}

// analyzeOp measures sampled luma and emits events; it does not change the
// frame.
type analyzeOp struct {
	p          gpu.AnalyzeParams
	w, h       int
	format     gpu.PixelFormat
	cols, rows int    // sampled columns and rows
	prev, cur  []byte // sampled luma, cols*rows
	stats      []rowStats
	f          *gpu.Frame
	sums       gpu.AnalyzeSums
	rules      gpu.AnalyzeRules // measures and events, shared with the CUDA backend
}

var (
	_ Bander       = (*analyzeOp)(nil)
	_ gpu.Measurer = (*analyzeOp)(nil)
)

func newAnalyze(p gpu.Params, w, h int, format gpu.PixelFormat) (Op, error) {
	ap, ok := p.(*gpu.AnalyzeParams)
	if !ok {
		return nil, fmt.Errorf("analyze: parameters are %T", p)
	}
	if ap.Subsample < 1 {
		return nil, fmt.Errorf("analyze: subsample %d: must be >= 1", ap.Subsample)
	}
	s := ap.Subsample
	cols, rows := (w+s-1)/s, (h+s-1)/s
	return &analyzeOp{
		p: *ap, w: w, h: h, format: format, cols: cols, rows: rows, rules: gpu.AnalyzeRules{P: *ap},
		prev:  make([]byte, cols*rows),
		cur:   make([]byte, cols*rows),
		stats: make([]rowStats, rows),
	}, nil
}

// Measure returns the measures of the last frame.
func (op *analyzeOp) Measure() gpu.Measure { return op.rules.Measure() }

// Band samples rows [r0, r1) of the sampled grid.
func (op *analyzeOp) Band(r0, r1 int) {
	f, s := op.f, op.p.Subsample
	darkMax := op.p.BlackLuma + 16
	for r := r0; r < r1; r++ {
		st := &op.stats[r]
		*st = rowStats{}
		src := f.Planes[0][r*s*f.Strides[0] : r*s*f.Strides[0]+f.Width]
		cur := op.cur[r*op.cols : (r+1)*op.cols]
		prev := op.prev[r*op.cols : (r+1)*op.cols]
		for c := range cur {
			v := src[c*s]
			cur[c] = v
			st.sum += int(v)
			if int(v) <= darkMax {
				st.dark++
			}
			d := int(v) - int(prev[c])
			if d < 0 {
				d = -d
			}
			st.diff += d
			st.hist[v>>3]++
		}
	}
}

func (op *analyzeOp) Apply(f *gpu.Frame, info gpu.FrameInfo, pool *Pool) error {
	if f.Width != op.w || f.Height != op.h {
		return fmt.Errorf("analyze: frame is %dx%d, prepared for %dx%d", f.Width, f.Height, op.w, op.h)
	}
	op.f = f
	pool.Run(op.rows, op)
	op.f = nil

	sums := &op.sums
	*sums = gpu.AnalyzeSums{N: op.cols * op.rows}
	for i := range op.stats {
		st := &op.stats[i]
		sums.Sum += st.sum
		sums.Dark += st.dark
		sums.Diff += st.diff
		for b, c := range st.hist {
			sums.Hist[b] += int(c)
		}
	}
	op.rules.Frame(sums, info)
	op.prev, op.cur = op.cur, op.prev
	return nil
}
