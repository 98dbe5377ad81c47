package adapt

import (
	"testing"
	"time"
)

// newTestShaper returns a shaper over a fresh controller of rungs that
// starts on start, with probes put off for an hour.
func newTestShaper(rungs []Rung, start string, now time.Time) *Shaper {
	h := NewShaper(DefaultShapeConfig(), New(Config{StartRung: start}, rungs, now))
	h.probeNext = now.Add(time.Hour)
	return h
}

// TestEstimateCappedByDelivery: GCC's estimate, grown while the sender was
// application-limited, counts for no more than 1.5x what got through; a
// clean probe's rate counts in full.
func TestEstimateCappedByDelivery(t *testing.T) {
	rungs := []Rung{{Name: "hi", Bitrate: 2_000_000}, {Name: "lo", Bitrate: 300_000}}
	now := t0
	h := newTestShaper(rungs, "lo", now)
	var s Stats
	var d Decision
	for i := 0; i < 25; i++ { // 5 s sending 400 kb/s: 10 kB per 200 ms
		now = now.Add(tick)
		s, d = h.Decide(Feedback{Now: now, Estimate: 5_000_000, Bytes: 10_000, Packets: 10, RungBitrate: 300_000})
	}
	if s.Estimate > 600_000 {
		t.Fatalf("estimate %d b/s with 400 kb/s delivered, want at most 600 kb/s", s.Estimate)
	}
	if d.Rung != "lo" {
		t.Fatalf("stepped up to %s on an estimate the link never showed", d.Rung)
	}
	h.probeOK, h.probeUntil = 3_000_000, now.Add(4*time.Second)
	now = now.Add(tick)
	s, _ = h.Decide(Feedback{Now: now, Estimate: 5_000_000, Bytes: 10_000, Packets: 10, RungBitrate: 300_000})
	if s.Estimate != 3_000_000 || !s.Probed {
		t.Fatalf("estimate %d b/s (probed %v) after a clean probe at 3 Mb/s", s.Estimate, s.Probed)
	}
}

// TestProbeLossReport: loss over the cap in a receiver report that came
// within the drain time of a probe's end is the probe's, even while the
// report is still in force after the drain; a later report's is not.
func TestProbeLossReport(t *testing.T) {
	rungs := []Rung{{Name: "hi", Bitrate: 2_000_000}, {Name: "lo", Bitrate: 300_000}}
	now := t0
	h := newTestShaper(rungs, "lo", now)
	h.probeEnded = now
	lossAt := now.Add(1500 * time.Millisecond)
	now = now.Add(2500 * time.Millisecond) // past the 2 s drain
	if s := h.Shape(Feedback{Now: now, Loss: 0.2, LossAt: lossAt}); !s.Probing {
		t.Fatal("loss reported 1.5 s after a probe's end not counted as the probe's")
	}
	if s := h.Shape(Feedback{Now: now.Add(tick), Loss: 0.2, LossAt: now}); s.Probing {
		t.Fatal("loss reported 2.5 s after a probe's end counted as the probe's")
	}
}

// TestStandingQueueTakesDelivered: with a queue standing the estimate is
// the delivered rate, whatever GCC says, and GCC's overuse counts; under
// half the standing queue its overuse is ignored.
func TestStandingQueueTakesDelivered(t *testing.T) {
	rungs := []Rung{{Name: "hi", Bitrate: 2_000_000}, {Name: "lo", Bitrate: 300_000}}
	now := t0
	h := newTestShaper(rungs, "hi", now)
	link := &LinkReading{QueueDelay: 120 * time.Millisecond, QueueNow: 150 * time.Millisecond, Delivered: 900_000, Acked: 20}
	s := h.Shape(Feedback{Now: now, Estimate: 4_000_000, Overuse: true, Link: link, RungBitrate: 2_000_000})
	if s.Estimate != 900_000 || !s.Overuse || s.QueueDelay != 150*time.Millisecond {
		t.Fatalf("under a standing queue: %+v, want the delivered 900 kb/s, overuse and the 150 ms standing now", s)
	}
	link = &LinkReading{QueueDelay: 10 * time.Millisecond, QueueNow: 5 * time.Millisecond, Delivered: 2_000_000, Acked: 20}
	s = h.Shape(Feedback{Now: now.Add(tick), Estimate: 1_000_000, Overuse: true, Link: link, RungBitrate: 2_000_000})
	if s.Overuse {
		t.Fatal("GCC's overuse counted with a 10 ms queue")
	}
	if s.Estimate != 2_500_000 {
		t.Fatalf("estimate %d on a clean link at 2 Mb/s, want the rung's need 2.5 Mb/s (headroom 1.25)", s.Estimate)
	}
}

// TestFallOverridesEstimate: a fall the link meter saw sets the estimate
// to the rate packets arrive at now, even on an otherwise clean link.
func TestFallOverridesEstimate(t *testing.T) {
	rungs := []Rung{{Name: "hi", Bitrate: 2_000_000}, {Name: "lo", Bitrate: 300_000}}
	h := newTestShaper(rungs, "hi", t0)
	link := &LinkReading{QueueDelay: 20 * time.Millisecond, QueueNow: 30 * time.Millisecond, Delivered: 1_900_000, Acked: 12, Fell: true, FellRate: 550_000}
	s, d := h.Decide(Feedback{Now: t0, Estimate: 3_000_000, Link: link, RungBitrate: 2_000_000})
	if !s.Fell || s.Estimate != 550_000 {
		t.Fatalf("on a fall: %+v, want Fell at 550 kb/s", s)
	}
	if d.Rung != "lo" {
		t.Fatalf("rung %s on a fall to 550 kb/s, want lo", d.Rung)
	}
	// Without transport-wide feedback (no acknowledgements, no queue), a
	// fall reading does not count.
	h = newTestShaper(rungs, "hi", t0)
	if s := h.Shape(Feedback{Now: t0, Estimate: 3_000_000, Link: &LinkReading{Fell: true, FellRate: 550_000}, RungBitrate: 2_000_000}); s.Fell {
		t.Fatal("a fall counted with no feedback")
	}
}
