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
