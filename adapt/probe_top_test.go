package adapt

import (
	"testing"
	"time"
)

// A viewer on the top rung is never sent padding: there is nothing above
// to find room for. A probe under way ends when the viewer reaches the top.
func TestNoProbeOnTopRung(t *testing.T) {
	now := time.Unix(1000, 0)
	rungs := []Rung{{Name: "720p", Bitrate: 2_500_000}, {Name: "360p", Bitrate: 800_000}}
	h := NewShaper(DefaultShapeConfig(), New(DefaultConfig(), rungs, now))
	h.Shape(Feedback{Now: now, RungBitrate: 800_000})
	h.probeRate, h.probeStart = 3_000_000, now.Add(-time.Second)
	if h.PadRate(now, 800_000) == 0 {
		t.Fatal("a probe under the top rung pads nothing: the test shows nothing")
	}
	now = now.Add(200 * time.Millisecond)
	h.Shape(Feedback{Now: now, RungBitrate: 2_500_000, OnTop: true})
	if r := h.PadRate(now, 2_500_000); r != 0 || h.ProbeRate() != 0 {
		t.Fatalf("on the top rung: pad rate %d, probe %d; want none", r, h.ProbeRate())
	}
}
