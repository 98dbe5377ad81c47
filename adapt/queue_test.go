package adapt

import (
	"testing"
	"time"
)

// Tests of the queue rules: what a queue that builds, stands or drains
// after a step down does to the controller.

// TestDrainingQueueIsNotCongestion: after a step down on a queue, the
// queue's drain (past its peak) does not step down again; a queue that
// keeps growing does.
func TestDrainingQueueIsNotCongestion(t *testing.T) {
	q := func(ms int) Stats { return Stats{Estimate: 2e6, QueueDelay: time.Duration(ms) * time.Millisecond} }
	f := newFeeder(DefaultConfig(), ladder)
	f.hold(Stats{Estimate: 5e6}, time.Second)
	f.next(q(300))
	if f.c.last.Rung != "360p" {
		t.Fatalf("no step down on a deep queue: %+v", f.c.last)
	}
	for _, ms := range []int{500, 700, 600, 620, 500, 400, 420, 300, 200, 100} {
		if d := f.next(q(ms)); d.Rung != "360p" {
			t.Fatalf("stepped down to %s while the queue drained (%d ms)", d.Rung, ms)
		}
	}
	// A new queue that grows, with the delivered rate under 360p's need
	// (the controller may be probing: congestion then steps down only if
	// the rung no longer fits).
	f.hold(Stats{Estimate: 2e6}, 2*time.Second)
	for _, ms := range []int{150, 200, 260} {
		f.next(Stats{Estimate: 900_000, QueueDelay: time.Duration(ms) * time.Millisecond})
	}
	if f.c.last.Rung != "180p" {
		t.Fatalf("a growing queue did not step down: %+v", f.c.last)
	}
}

// TestOveruseWhileDraining: GCC's overuse state outlives the queue it saw;
// while the queue drains after a step down it does not step down again,
// and once the queue grows again it does.
func TestOveruseWhileDraining(t *testing.T) {
	q := func(ms int) Stats {
		return Stats{Estimate: 2e6, Overuse: true, QueueDelay: time.Duration(ms) * time.Millisecond}
	}
	f := newFeeder(DefaultConfig(), ladder)
	f.hold(Stats{Estimate: 5e6}, time.Second)
	f.next(q(300))
	if f.c.last.Rung != "360p" {
		t.Fatalf("no step down on a deep queue: %+v", f.c.last)
	}
	for _, ms := range []int{700, 650, 500, 400, 300, 200, 120, 100} {
		if d := f.next(q(ms)); d.Rung != "360p" {
			t.Fatalf("stepped down to %s (%s) on overuse while the queue drained (%d ms)", d.Rung, d.Reason, ms)
		}
	}
	for _, ms := range []int{110, 125, 140} {
		f.next(q(ms))
	}
	if f.c.last.Rung != "180p" || f.c.last.Reason != ReasonOveruse {
		t.Fatalf("overuse with a growing queue did not step down: %+v", f.c.last)
	}
}

// TestEstimateStepUnderQueueSettles: a step down on the estimate while a
// queue stands starts the settle time, like one on congestion: the queue
// the feedback goes on showing growing for a while (sent before the step)
// does not take the viewer down again.
func TestEstimateStepUnderQueueSettles(t *testing.T) {
	f := newFeeder(DefaultConfig(), ladder)
	f.hold(Stats{Estimate: 5e6}, time.Second)
	for _, ms := range []int{60, 70, 75} { // under delay_down: no congestion
		f.next(Stats{Estimate: 1_100_000, QueueDelay: time.Duration(ms) * time.Millisecond})
	}
	if f.c.last.Rung != "360p" || f.c.last.Reason != ReasonEstimate {
		t.Fatalf("no step down to 360p on the estimate: %+v", f.c.last)
	}
	for _, ms := range []int{150, 300, 450} {
		if d := f.next(Stats{Estimate: 1_100_000, Overuse: true, QueueDelay: time.Duration(ms) * time.Millisecond}); d.Rung != "360p" {
			t.Fatalf("stepped down again to %s (%s) at %d ms of queue, within the settle time", d.Rung, d.Reason, ms)
		}
	}
}

// TestSwitchedDownRestartsSettle: a switch down the sender carried out
// late (held while the queue drained) restarts the settle time, so loss
// the receiver reports afterwards about the old rung does not step down
// again; after the settle time it does.
func TestSwitchedDownRestartsSettle(t *testing.T) {
	f := newFeeder(DefaultConfig(), ladder)
	f.hold(Stats{Estimate: 5e6}, time.Second)
	f.next(Stats{Estimate: 1_100_000, QueueDelay: 300 * time.Millisecond})
	if f.c.last.Rung != "360p" {
		t.Fatalf("no step down on a deep queue: %+v", f.c.last)
	}
	f.hold(Stats{Estimate: 1_100_000}, 800*time.Millisecond)
	f.c.SwitchedDown(t0.Add(f.d)) // the held switch happens now
	lossy := Stats{Estimate: 1_100_000, Loss: 0.2}
	if d := f.hold(lossy, 800*time.Millisecond); d.Rung != "360p" {
		t.Fatalf("stepped down to %s (%s) within the settle time of the held switch", d.Rung, d.Reason)
	}
	if d := f.hold(lossy, 600*time.Millisecond); d.Rung == "360p" {
		t.Fatalf("loss after the settle time did not step down: %+v", d)
	}
}

// TestFellStepsDownAtOnce: a fall the sender saw steps down at once, to
// the rung the rate it reports carries, before the queue is deep.
func TestFellStepsDownAtOnce(t *testing.T) {
	f := newFeeder(DefaultConfig(), ladder)
	f.hold(Stats{Estimate: 5e6}, time.Second)
	d := f.next(Stats{Estimate: 600_000, Fell: true, QueueDelay: 45 * time.Millisecond})
	if d.Rung != "180p" || d.Reason != ReasonDelay {
		t.Fatalf("a fall to 600 kb/s gave %+v, want 180p on congestion at once", d)
	}
}

// TestProbingFlagKeepsMediaUp: congestion the sender says is its probe's
// (Stats.Probing, such as a receiver report of the probe's loss that comes
// more than a second after it) does not step the media down.
func TestProbingFlagKeepsMediaUp(t *testing.T) {
	f := newFeeder(DefaultConfig(), ladder)
	f.hold(Stats{Estimate: 1_200_000}, 5*time.Second)
	if f.c.last.Rung != "360p" {
		t.Fatalf("not on 360p at 1.2 Mb/s: %+v", f.c.last)
	}
	if d := f.hold(Stats{Estimate: 1_200_000, Loss: 0.14, Probing: true}, 2*time.Second); d.Rung != "360p" {
		t.Fatalf("the probe's loss stepped down to %s (%s)", d.Rung, d.Reason)
	}
	if d := f.hold(Stats{Estimate: 1_200_000, Loss: 0.14}, time.Second); d.Rung == "360p" {
		t.Fatalf("loss that is not the probe's did not step down: %+v", d)
	}
}
