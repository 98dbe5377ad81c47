package adapt

import "time"

// Replay runs a fresh controller over a recorded trace and returns one
// decision per Stats, for tests and benchmarks of other packages. The
// controller starts at the first sample's time. The trace is open loop:
// the stats do not react to the decisions.
func Replay(cfg Config, rungs []Rung, stats []Stats) []Decision {
	var start time.Time
	if len(stats) > 0 {
		start = stats[0].Now
	}
	c := New(cfg, rungs, start)
	out := make([]Decision, len(stats))
	for i, s := range stats {
		out[i] = c.Update(s)
	}
	return out
}

// A FeedbackEvent is one raw input of a viewer's adaptation, in the order
// its sender took them: the Feedback of an update, or a probe cut short
// between updates. Exactly one of the two is set.
type FeedbackEvent struct {
	Update *Feedback
	Cut    *ProbeCut
}

// ReplayFeedback runs a fresh Shaper and Controller over a recorded trace
// of a viewer's raw feedback and returns the Stats shaped and the decision
// taken at each update. The controller starts at the first event's time.
// Like Replay it is open loop, and it covers automatic control only (no
// manual rung, no ladder change).
func ReplayFeedback(cfg Config, sc ShapeConfig, rungs []Rung, events []FeedbackEvent) ([]Stats, []Decision) {
	var start time.Time
	if len(events) > 0 {
		if e := events[0]; e.Update != nil {
			start = e.Update.Now
		} else if e.Cut != nil {
			start = e.Cut.Now
		}
	}
	h := NewShaper(sc, New(cfg, rungs, start))
	var stats []Stats
	var decs []Decision
	for _, e := range events {
		switch {
		case e.Update != nil:
			s, d := h.Decide(*e.Update)
			stats, decs = append(stats, s), append(decs, d)
		case e.Cut != nil:
			h.CutProbe(*e.Cut)
		}
	}
	return stats, decs
}
