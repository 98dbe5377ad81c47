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

	hist, phist [32]int
	frames      int
	lastPTS     float64
	lastCut     float64
	cutSeen     bool
	black       section
	frozen      section
	last        gpu.Measure
}

var _ gpu.Measurer = (*analyzeOp)(nil)

// section is an open black or frozen section.
type section struct {
	open    bool
	from    float64
	started bool // its _start event was sent
}

func newAnalyze(p gpu.Params, w, h int, _ gpu.PixelFormat) (op, error) {
	ap, ok := p.(*gpu.AnalyzeParams)
	if !ok {
		return nil, fmt.Errorf("analyze: parameters are %T", p)
	}
	if ap.Subsample < 1 {
		return nil, fmt.Errorf("analyze: subsample %d: must be >= 1", ap.Subsample)
	}
	s := ap.Subsample
	o := &analyzeOp{p: *ap, cols: (w + s - 1) / s, rows: (h + s - 1) / s}
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
func (o *analyzeOp) Measure() gpu.Measure { return o.last }

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
	for b := range o.hist {
		o.hist[b] = int(o.res[2+b])
	}
	o.update(int(o.res[0]), int(o.res[1]), int(o.res[34]), n, info)
	return nil
}

// update turns one frame's sums into the measure and events.
func (o *analyzeOp) update(sum, diff, dark, n int, info gpu.FrameInfo) {
	t := info.PTS.Seconds()
	if o.frames > 0 && t < o.lastPTS {
		o.frames, o.cutSeen = 0, false
		o.black, o.frozen = section{}, section{}
	}
	m := gpu.Measure{MeanLuma: float64(sum) / float64(n)}
	if o.frames > 0 {
		m.Motion = float64(diff) / (255 * float64(n))
		hd := 0
		for b := range o.hist {
			hd += max(o.hist[b]-o.phist[b], o.phist[b]-o.hist[b])
		}
		m.SceneScore = float64(hd) / (2 * float64(n))
	}
	o.last = m
	emit := func(e gpu.Event) {
		if info.Emit != nil {
			e.Stream = info.Stream
			info.Emit(e)
		}
	}
	if o.frames > 0 && m.SceneScore >= o.p.SceneThreshold && (!o.cutSeen || t-o.lastCut >= gpu.SceneCutMinGap) {
		o.cutSeen, o.lastCut = true, t
		emit(gpu.Event{Type: gpu.EventSceneCut, PTS: t, Score: m.SceneScore})
	}
	isBlack := m.MeanLuma <= float64(o.p.BlackLuma) && float64(dark) >= 0.98*float64(n)
	o.track(&o.black, isBlack, t, t, gpu.EventBlackStart, gpu.EventBlack, emit)
	isFrozen := o.frames > 0 && m.Motion < o.p.FreezeThreshold
	o.track(&o.frozen, isFrozen, o.lastPTS, t, gpu.EventFrozenStart, gpu.EventFrozen, emit)
	o.phist = o.hist
	o.lastPTS = t
	o.frames++
}

// track advances a black or frozen section: on says whether the frame at t
// belongs to one, which began at from if it is new.
func (o *analyzeOp) track(s *section, on bool, from, t float64, startType, endType string, emit func(gpu.Event)) {
	minDur := o.p.MinDuration
	switch {
	case on:
		if !s.open {
			*s = section{open: true, from: from}
		}
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

func (o *analyzeOp) close() {
	o.prev.free()
	o.out.free()
}

// u64Bytes views v as bytes.
func u64Bytes(v []uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 8*len(v))
}
