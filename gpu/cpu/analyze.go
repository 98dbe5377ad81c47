package cpu

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

func init() { Register("analyze", newAnalyze) }

// analyzeBins is the number of bins of the luma histogram.
const analyzeBins = 32

// rowStats is what one sampled row contributes to a frame's measures.
type rowStats struct {
	sum  int // sum of samples
	dark int // samples <= black luma + 16
	diff int // sum of |cur - prev|
	hist [analyzeBins]int32
}

// section is an open black or frozen section.
type section struct {
	open    bool
	from    float64
	started bool // its _start event was sent
}

// analyzeOp measures sampled luma and emits events; it does not change the
// frame.
type analyzeOp struct {
	p           gpu.AnalyzeParams
	w, h        int
	format      gpu.PixelFormat
	cols, rows  int    // sampled columns and rows
	prev, cur   []byte // sampled luma, cols*rows
	stats       []rowStats
	hist, phist [analyzeBins]int // this frame's and the previous frame's
	f           *gpu.Frame
	frames      int // frames seen since the (re)start
	lastPTS     float64
	lastCut     float64
	cutSeen     bool
	black       section
	frozen      section
	last        gpu.Measure
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
		p: *ap, w: w, h: h, format: format, cols: cols, rows: rows,
		prev:  make([]byte, cols*rows),
		cur:   make([]byte, cols*rows),
		stats: make([]rowStats, rows),
	}, nil
}

// Measure returns the measures of the last frame.
func (op *analyzeOp) Measure() gpu.Measure { return op.last }

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

	n := op.cols * op.rows
	sum, dark, diff := 0, 0, 0
	op.hist = [analyzeBins]int{}
	for i := range op.stats {
		st := &op.stats[i]
		sum += st.sum
		dark += st.dark
		diff += st.diff
		for b, c := range st.hist {
			op.hist[b] += int(c)
		}
	}
	t := info.PTS.Seconds()
	if op.frames > 0 && t < op.lastPTS {
		op.restart()
	}
	m := gpu.Measure{MeanLuma: float64(sum) / float64(n)}
	if op.frames > 0 {
		m.Motion = float64(diff) / (255 * float64(n))
		hd := 0
		for b := range op.hist {
			d := op.hist[b] - op.phist[b]
			if d < 0 {
				d = -d
			}
			hd += d
		}
		m.SceneScore = float64(hd) / (2 * float64(n))
	}
	op.last = m
	emit := func(e gpu.Event) {
		if info.Emit != nil {
			e.Stream = info.Stream
			info.Emit(e)
		}
	}

	if op.frames > 0 && m.SceneScore >= op.p.SceneThreshold && (!op.cutSeen || t-op.lastCut >= gpu.SceneCutMinGap) {
		op.cutSeen, op.lastCut = true, t
		emit(gpu.Event{Type: gpu.EventSceneCut, PTS: t, Score: m.SceneScore})
	}
	isBlack := m.MeanLuma <= float64(op.p.BlackLuma) && float64(dark) >= 0.98*float64(n)
	op.track(&op.black, isBlack, t, t, gpu.EventBlackStart, gpu.EventBlack, emit)
	isFrozen := op.frames > 0 && m.Motion < op.p.FreezeThreshold
	op.track(&op.frozen, isFrozen, op.lastPTS, t, gpu.EventFrozenStart, gpu.EventFrozen, emit)

	op.prev, op.cur = op.cur, op.prev
	op.phist = op.hist
	op.lastPTS = t
	op.frames++
	return nil
}

// track advances a black or frozen section: on is whether this frame (at t)
// belongs to one, which began at from if it is new.
func (op *analyzeOp) track(s *section, on bool, from, t float64, startType, endType string, emit func(gpu.Event)) {
	minDur := op.p.MinDuration
	switch {
	case on && !s.open:
		*s = section{open: true, from: from}
		fallthrough
	case on:
		if !s.started && t-s.from >= minDur {
			s.started = true
			emit(gpu.Event{Type: startType, PTS: s.from, From: s.from})
		}
	case s.open:
		if t-s.from >= minDur {
			if !s.started {
				emit(gpu.Event{Type: startType, PTS: s.from, From: s.from})
			}
			emit(gpu.Event{Type: endType, PTS: t, From: s.from, To: t})
		}
		*s = section{}
	}
}

// restart forgets the stream's past, when its PTS goes back.
func (op *analyzeOp) restart() {
	op.frames = 0
	op.cutSeen = false
	op.black, op.frozen = section{}, section{}
}
