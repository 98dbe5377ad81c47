package sender

import (
	"testing"
	"time"

	"github.com/mutstream/mutstream/stream"
)

// TestAdaptClockTick: the clock's tick runs the controller of a loop with
// sinks, but leaves a switch to the loop (only the loop may end or start
// a reader); the loop makes it when woken. A tick that finds the loop
// busy has the loop decide itself, and tick its second. The clock's goroutine ends once no
// loop is left.
func TestAdaptClockTick(t *testing.T) {
	l, lo := pinnedLoop(t)
	defer l.close()
	poked := func() bool {
		select {
		case <-l.poked:
			return true
		default:
			return false
		}
	}
	l.tick(false)
	if l.pending != nil || l.planned == nil || l.planned.f != lo || !poked() {
		t.Fatalf("after the tick: pending %v, planned %+v: want the switch to lo planned for the loop, and the loop woken", l.pending, l.planned)
	}
	l.mu.Lock()
	l.onPoke()
	l.mu.Unlock()
	if l.pending == nil || l.pending.Feed() != lo || l.planned != nil {
		t.Fatalf("after the loop woke: pending %v, planned %+v: want lo read", l.pending, l.planned)
	}
	// The switch is under way: the next tick has nothing for the loop
	// (whose pad tick, as its wait set it, agrees with what it needs).
	l.padOn = l.padding()
	l.tick(false)
	if l.planned != nil || poked() {
		t.Fatal("a tick with the switch under way woke the loop")
	}
	// The loop busy: it is woken to decide itself.
	l.mu.Lock()
	l.tick(false)
	if !l.decideDue.Load() || !poked() {
		t.Fatal("a tick that found the loop busy did not leave it the decision")
	}
	l.onPoke()
	l.mu.Unlock()
	if l.decideDue.Load() {
		t.Fatal("the loop did not decide when woken")
	}
	// The second tick: the clock does it while the loop's audio feed is
	// the stream's; busy, the loop is left it.
	l.padOn = l.padding()
	l.tick(true)
	if l.secondDue.Load() || poked() {
		t.Fatal("a second tick with nothing for the loop woke it")
	}
	l.mu.Lock()
	l.tick(true)
	if !l.secondDue.Load() || !poked() {
		t.Fatal("a second tick that found the loop busy did not leave it the tick")
	}
	l.onPoke()
	l.mu.Unlock()
	if l.secondDue.Load() {
		t.Fatal("the loop did not tick its second when woken")
	}

	clock.add(l)
	if !clockRunning() {
		t.Fatal("the clock does not run with a loop")
	}
	clock.remove(l)
	deadline := time.Now().Add(10 * time.Second)
	for clockRunning() {
		if time.Now().After(deadline) {
			t.Fatal("the clock's goroutine runs on with no loop")
		}
		time.Sleep(time.Millisecond)
	}
}

func clockRunning() bool {
	clock.mu.Lock()
	defer clock.mu.Unlock()
	return clock.running
}

// TestAdaptClockStalePlan: a switch the clock left to the loop is
// dropped when the viewer's own choice comes first, and replaced when the
// loop is to decide anew.
func TestAdaptClockStalePlan(t *testing.T) {
	l, lo := pinnedLoop(t)
	defer l.close()
	l.tick(false)
	if l.planned == nil || l.planned.f != lo {
		t.Fatalf("planned %+v, want the switch to lo", l.planned)
	}
	// The viewer asks for hi, the rung being sent, before the loop
	// acts: the older plan must not take it to lo.
	l.onRungRequest("hi")
	l.onPoke()
	if l.pending != nil || l.planned != nil {
		t.Fatalf("after the viewer's choice: pending %v, planned %+v; want neither", l.pending, l.planned)
	}
	// A plan and a decision due: the decision is taken, the plan dropped.
	l.planned = &plannedAct{f: lo}
	l.decideDue.Store(true)
	l.onPoke()
	if l.planned != nil || l.decideDue.Load() || l.pending != nil {
		t.Fatalf("planned %+v, pending %v: want the decision (hi, pinned) taken and the plan dropped", l.planned, l.pending)
	}
}

// pinnedLoop is newTestLoop's loop, on hi, with lo pinned by hand: the
// controller wants lo at its next decision.
func pinnedLoop(t *testing.T) (*loop, *stream.Feed) {
	t.Helper()
	l, st, _ := newTestLoop(t)
	lo, _ := st.Rung("lo")
	if err := l.ad.setManual(lo.Info()); err != nil {
		t.Fatal(err)
	}
	l.ad.manual = true
	return l, lo
}
