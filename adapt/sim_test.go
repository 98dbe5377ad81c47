package adapt

import (
	"math/rand"
	"testing"
	"time"
)

// ladder is the ladder of the tests.
var ladder = []Rung{
	{Name: "720p", Width: 1280, Height: 720, FPS: 30, Bitrate: 2_500_000},
	{Name: "360p", Width: 640, Height: 360, FPS: 30, Bitrate: 800_000},
	{Name: "180p", Width: 320, Height: 180, FPS: 15, Bitrate: 250_000},
}

// t0 is the start of every trace.
var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	tick        = 200 * time.Millisecond
	audioRate   = 32_000
	packetBits  = 1200 * 8
	estimateLag = time.Second
	overuseFor  = 600 * time.Millisecond
)

// segment is a stretch of constant link capacity.
type segment struct {
	dur      time.Duration
	capacity int // bps
}

// link is a simulated viewer link: a capacity schedule, a GCC-like
// estimate that follows the capacity with a lag and a little seeded noise,
// delay overuse for a while after a capacity drop (and while a probe pads
// above the capacity), and loss when the sender sends more than the link
// carries.
type link struct {
	segs []segment
	rng  *rand.Rand
	// estimate, when set, replaces the lagged capacity (an
	// application-limited GCC that overshoots, say).
	estimate func(d time.Duration) int
}

func newLink(seed int64, segs ...segment) *link {
	return &link{segs: segs, rng: rand.New(rand.NewSource(seed))}
}

func (l *link) total() time.Duration {
	var t time.Duration
	for _, s := range l.segs {
		t += s.dur
	}
	return t
}

// capacityAt returns the capacity at d (the first segment's before 0).
func (l *link) capacityAt(d time.Duration) int {
	for _, s := range l.segs {
		if d < s.dur {
			return s.capacity
		}
		d -= s.dur
	}
	return l.segs[len(l.segs)-1].capacity
}

// dropWithin returns whether the capacity fell at most overuseFor before d.
func (l *link) dropWithin(d time.Duration) bool {
	var at time.Duration
	for i := 1; i < len(l.segs); i++ {
		at += l.segs[i-1].dur
		if l.segs[i].capacity < l.segs[i-1].capacity && d > at && d-at <= overuseFor {
			return true
		}
	}
	return false
}

// sentRate returns the media rate the sender uses for dec.
func sentRate(rungs []Rung, dec Decision) int {
	if dec.Rung == "" {
		return 0
	}
	if dec.AudioOnly {
		return audioRate
	}
	for _, r := range rungs {
		if r.Name == dec.Rung {
			b := r.Bitrate
			if dec.FPSCap > 0 && r.FPS > 0 {
				b = b * dec.FPSCap / r.FPS
			}
			return b + audioRate
		}
	}
	return 0
}

// stats returns the sample at d for a sender that sent at sent bps and
// padded up to probe bps during the last interval.
func (l *link) stats(d time.Duration, sent, probe int) Stats {
	capacity := l.capacityAt(d - tick/2) // the interval that ends at d
	est := l.capacityAt(d - estimateLag)
	if l.estimate != nil {
		est = l.estimate(d)
	}
	est = int(float64(est) * (0.97 + 0.06*l.rng.Float64()))
	s := Stats{Now: t0.Add(d), Estimate: est, RTT: 50 * time.Millisecond, Probing: probe > sent}
	s.Overuse = l.dropWithin(d) || (probe > capacity && probe > sent)
	s.Packets = int(int64(sent) * int64(tick) / int64(time.Second) / packetBits)
	if sent > capacity {
		s.Loss = 1 - float64(capacity)/float64(sent)
		s.NACKs = int(s.Loss * float64(s.Packets))
	}
	return s
}

// step is one update of a closed-loop run.
type step struct {
	at       time.Duration
	stats    Stats
	dec      Decision
	state    string
	probe    int
	smoothed int
}

// run drives a controller over the link, closed loop, one update every
// 200 ms from 0 to the end of the schedule.
func run(t testing.TB, cfg Config, l *link) []step {
	t.Helper()
	c := New(cfg, ladder, t0)
	var out []step
	var dec Decision
	probe := 0
	for d := time.Duration(0); d <= l.total(); d += tick {
		s := l.stats(d, sentRate(ladder, dec), probe)
		dec = c.Update(s)
		probe = c.ProbeTarget()
		out = append(out, step{at: d, stats: s, dec: dec, state: c.State(), probe: probe, smoothed: c.Smoothed()})
	}
	return out
}

// switchTimes returns the times at which the decision changed, after the
// first one.
func switchTimes(steps []step) []step {
	var out []step
	for i, s := range steps {
		if i > 0 && s.dec.Changed {
			out = append(out, s)
		}
	}
	return out
}

// firstAfter returns the first step at or after from that satisfies ok.
func firstAfter(steps []step, from time.Duration, ok func(step) bool) (step, bool) {
	for _, s := range steps {
		if s.at >= from && ok(s) {
			return s, true
		}
	}
	return step{}, false
}

func rungIs(name string) func(step) bool {
	return func(s step) bool { return s.dec.Rung == name && !s.dec.AudioOnly && s.dec.FPSCap == 0 }
}

func logSwitches(t *testing.T, steps []step) {
	t.Helper()
	for _, s := range switchTimes(steps) {
		t.Logf("%6.1fs %-5s fps=%-2d audio=%-5v %s (smoothed %d)", s.at.Seconds(), s.dec.Rung, s.dec.FPSCap, s.dec.AudioOnly, s.dec.Reason, s.smoothed)
	}
}

// checkInvariants checks what holds for every decision: a reason, and
// Changed exactly when the decision differs from the previous one.
func checkInvariants(t *testing.T, steps []step) {
	t.Helper()
	for i, s := range steps {
		if s.dec.Reason == "" {
			t.Fatalf("%v: empty reason", s.at)
		}
		if i == 0 {
			if !s.dec.Changed {
				t.Fatalf("first decision not Changed")
			}
			continue
		}
		p := steps[i-1].dec
		diff := p.Rung != s.dec.Rung || p.FPSCap != s.dec.FPSCap || p.AudioOnly != s.dec.AudioOnly
		if diff != s.dec.Changed {
			t.Fatalf("%v: Changed=%v but differs=%v", s.at, s.dec.Changed, diff)
		}
	}
}
