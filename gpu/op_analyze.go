package gpu

// Event types the analyze op emits.
const (
	EventSceneCut    = "scene_cut"
	EventBlack       = "black"
	EventBlackStart  = "black_start"
	EventFrozen      = "frozen"
	EventFrozenStart = "frozen_start"
)

// SceneCutMinGap is the least time, in seconds, between two scene_cut
// events.
const SceneCutMinGap = 0.5

// AnalyzeParams are the analyze op's parameters. The op leaves the picture
// as it is. On each frame it reads the luma samples at every Subsample-th
// column of every Subsample-th row (n samples, starting at 0,0) and
// measures:
//
//	mean luma:   sum / n, in code values 0..255
//	motion:      sum |cur - prev| / (255 n), 0..1, against the previous frame
//	scene score: sum over 32 bins of |hcur[b] - hprev[b]| / (2n), 0..1, where
//	             h counts the samples whose value >> 3 is b
//
// A frame is black when its mean luma <= BlackLuma and at least 98% of the
// samples are <= BlackLuma+16. A frame is frozen when its motion <
// FreezeThreshold. Events go to FrameInfo.Emit, with times in seconds of
// PTS:
//
//   - scene_cut (pts, score) when the score >= SceneThreshold, never on the
//     first frame and at most one per SceneCutMinGap seconds;
//   - black_start (pts = from = t0) once a black section has lasted
//     MinDuration (t - t0 >= MinDuration at a black frame), and black
//     (from t0, to t1, pts t1) when it ends at the first non-black frame t1,
//     if t1 - t0 >= MinDuration (black_start first if it was not sent);
//   - frozen_start and frozen the same way for a run of frozen frames, where
//     t0 is the PTS of the frame the run repeats.
//
// A PTS that goes back restarts the analysis. A section still open when the
// stream ends has had only its _start event.
type AnalyzeParams struct {
	// BlackLuma is the mean luma at or under which a frame may be black:
	// 0..255, default 32.
	BlackLuma int `json:"black_luma"`
	// SceneThreshold is the scene score for a cut: (0, 1], default 0.35.
	SceneThreshold float64 `json:"scene_threshold"`
	// FreezeThreshold is the motion under which a frame is frozen: 0..1,
	// default 0.002.
	FreezeThreshold float64 `json:"freeze_threshold"`
	// MinDuration is the shortest black or frozen section reported, in
	// seconds: 0..3600, default 0.5.
	MinDuration float64 `json:"min_duration"`
	// Subsample measures every Subsample-th pixel of every Subsample-th
	// row: 1..16, default 4.
	Subsample int `json:"subsample"`
}

func init() {
	Register("analyze", func() Params {
		return &AnalyzeParams{BlackLuma: 32, SceneThreshold: 0.35, FreezeThreshold: 0.002, MinDuration: 0.5, Subsample: 4}
	})
}

// Validate checks the ranges of the fields.
func (p *AnalyzeParams) Validate(Env) error {
	switch {
	case p.BlackLuma < 0 || p.BlackLuma > 255:
		return Fieldf("black_luma", "%d: must be 0..255", p.BlackLuma)
	case !(p.SceneThreshold > 0 && p.SceneThreshold <= 1):
		return Fieldf("scene_threshold", "%v: must be in (0, 1]", p.SceneThreshold)
	case !(p.FreezeThreshold >= 0 && p.FreezeThreshold <= 1):
		return Fieldf("freeze_threshold", "%v: must be in [0, 1]", p.FreezeThreshold)
	case !(p.MinDuration >= 0 && p.MinDuration <= 3600):
		return Fieldf("min_duration", "%v: must be in [0, 3600] seconds", p.MinDuration)
	case p.Subsample < 1 || p.Subsample > 16:
		return Fieldf("subsample", "%d: must be 1..16", p.Subsample)
	}
	return nil
}

// Measure is what the analyze op measured on the last frame.
type Measure struct {
	// MeanLuma is the mean of the sampled luma, 0..255.
	MeanLuma float64
	// Motion is the mean absolute luma difference with the previous frame,
	// 0..1 (0 on the first frame).
	Motion float64
	// SceneScore is the histogram difference with the previous frame, 0..1
	// (0 on the first frame).
	SceneScore float64
}

// Measurer is implemented by a backend's prepared analyze op: the last
// frame's measures, for the code holding the op (a pipeline gets each
// frame's measures through FrameInfo.Measured). Measure may be called
// between frames, from the goroutine that applies the chain.
type Measurer interface {
	Measure() Measure
}
