package gpu

// AnalyzeBins is the number of bins of analyze's luma histogram (value>>3).
const AnalyzeBins = 32

// AnalyzeSums is what a backend measures on one frame's sampled luma.
type AnalyzeSums struct {
	N    int              // samples
	Sum  int              // sum of luma
	Diff int              // sum of |luma - previous frame's luma|
	Dark int              // samples at or below BlackLuma+16
	Hist [AnalyzeBins]int // histogram of luma>>3
}

// AnalyzeRules turns each frame's sums into measures and events by the
// rules documented on AnalyzeParams. Both backends use it, so they find the
// same events.
type AnalyzeRules struct {
	P       AnalyzeParams
	phist   [AnalyzeBins]int
	frames  int // frames seen since the (re)start
	lastPTS float64
	lastCut float64
	cutSeen bool
	black   section
	frozen  section
	last    Measure
}

// section is an open black or frozen section.
type section struct {
	open    bool
	from    float64
	started bool // its _start event was sent
}

// Measure returns the latest frame's measures.
func (r *AnalyzeRules) Measure() Measure { return r.last }

// Frame takes one frame's sums and emits what they show through info.Emit.
func (r *AnalyzeRules) Frame(s *AnalyzeSums, info FrameInfo) Measure {
	t := info.PTS.Seconds()
	if r.frames > 0 && t < r.lastPTS {
		r.frames, r.cutSeen = 0, false
		r.black, r.frozen = section{}, section{}
	}
	n := max(s.N, 1)
	m := Measure{MeanLuma: float64(s.Sum) / float64(n)}
	if r.frames > 0 {
		m.Motion = float64(s.Diff) / (255 * float64(n))
		hd := 0
		for b := range s.Hist {
			hd += max(s.Hist[b]-r.phist[b], r.phist[b]-s.Hist[b])
		}
		m.SceneScore = float64(hd) / (2 * float64(n))
	}
	r.last = m
	if r.frames > 0 && m.SceneScore >= r.P.SceneThreshold && (!r.cutSeen || t-r.lastCut >= SceneCutMinGap) {
		r.cutSeen, r.lastCut = true, t
		emit(info, Event{Type: EventSceneCut, PTS: t, Score: m.SceneScore})
	}
	isBlack := m.MeanLuma <= float64(r.P.BlackLuma) && float64(s.Dark) >= 0.98*float64(n)
	r.track(&r.black, isBlack, t, t, EventBlackStart, EventBlack, info)
	isFrozen := r.frames > 0 && m.Motion < r.P.FreezeThreshold
	r.track(&r.frozen, isFrozen, r.lastPTS, t, EventFrozenStart, EventFrozen, info)
	r.phist = s.Hist
	r.lastPTS = t
	r.frames++
	if info.Measured != nil {
		info.Measured(m)
	}
	return m
}

// First reports whether no frame has been seen since the (re)start, when
// there is no previous frame to compare with.
func (r *AnalyzeRules) First() bool { return r.frames == 0 }

// track advances a black or frozen section: on says whether the frame at t
// belongs to one, which began at from if it is new.
func (r *AnalyzeRules) track(s *section, on bool, from, t float64, startType, endType string, info FrameInfo) {
	minDur := r.P.MinDuration
	switch {
	case on:
		if !s.open {
			*s = section{open: true, from: from}
		}
		if !s.started && t-s.from >= minDur {
			s.started = true
			emit(info, Event{Type: startType, PTS: s.from, From: seconds(s.from)})
		}
	case s.open:
		if t-s.from >= minDur {
			if !s.started {
				emit(info, Event{Type: startType, PTS: s.from, From: seconds(s.from)})
			}
			emit(info, Event{Type: endType, PTS: t, From: seconds(s.from), To: seconds(t)})
		}
		*s = section{}
	}
}

func emit(info FrameInfo, e Event) {
	if info.Emit != nil {
		e.Stream = info.Stream
		info.Emit(e)
	}
}

// seconds is a section bound for an Event, a copy of v.
func seconds(v float64) *float64 { return &v }
