package adapt

import (
	"errors"
	"testing"
	"time"
)

// feeder builds open-loop samples 200 ms apart.
type feeder struct {
	c *Controller
	d time.Duration
}

func newFeeder(cfg Config, rungs []Rung) *feeder {
	return &feeder{c: New(cfg, rungs, t0)}
}

// next sends s at the next tick (its Now is set here).
func (f *feeder) next(s Stats) Decision {
	f.d += tick
	s.Now = t0.Add(f.d)
	return f.c.Update(s)
}

// hold sends s for dur and returns the last decision.
func (f *feeder) hold(s Stats, dur time.Duration) Decision {
	var d Decision
	for end := f.d + dur; f.d < end; {
		d = f.next(s)
	}
	return d
}

func TestSmoother(t *testing.T) {
	cfg := DefaultConfig()
	for _, tc := range []struct {
		name    string
		in      []int
		confirm []bool // per sample; missing = false
		want    int
	}{
		{"first value taken", []int{1_000_000}, nil, 1_000_000},
		{"unknown keeps", []int{1_000_000, 0, 0}, nil, 1_000_000},
		{"clamped high", []int{90_000_000}, nil, 20_000_000},
		{"clamped low", []int{1_000}, nil, 30_000},
		{"rise by alpha", []int{1_000_000, 2_000_000}, nil, 1_300_000},
		{"single spike ignored", []int{2_000_000, 500_000, 2_000_000}, nil, 2_000_000},
		{"drop taken after 2 at the higher", []int{2_000_000, 600_000, 500_000}, nil, 600_000},
		{"run goes on at once", []int{2_000_000, 600_000, 500_000, 400_000}, nil, 400_000},
		{"confirmed drop at once", []int{2_000_000, 500_000}, []bool{false, true}, 500_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m smoother
			for i, v := range tc.in {
				m.observe(v, i < len(tc.confirm) && tc.confirm[i], &cfg)
			}
			if got := m.smoothed(); got != tc.want {
				t.Errorf("smoothed = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestCongestionStepsDown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stats  []Stats
		rung   string
		reason string
	}{
		{"one overuse is a spike", []Stats{{Estimate: 5e6, Overuse: true}}, "720p", ReasonStart},
		{"one overuse with a drop is a spike", []Stats{{Estimate: 1e6, Overuse: true}}, "720p", ReasonStart},
		{"two overuses", []Stats{{Estimate: 5e6, Overuse: true}, {Estimate: 5e6, Overuse: true}}, "360p", ReasonOveruse},
		{"loss", []Stats{{Estimate: 5e6, Loss: 0.15}}, "360p", ReasonLoss},
		{"queueing delay", []Stats{{Estimate: 5e6, QueueDelay: 150 * time.Millisecond}, {Estimate: 5e6, QueueDelay: 150 * time.Millisecond}}, "360p", ReasonDelay},
		{"one queueing delay reading is a burst", []Stats{{Estimate: 5e6, QueueDelay: 150 * time.Millisecond}}, "720p", ReasonStart},
		{"a deep queue at once", []Stats{{Estimate: 5e6, QueueDelay: 300 * time.Millisecond}}, "360p", ReasonDelay},
		{"queueing delay under the line", []Stats{{Estimate: 5e6, QueueDelay: 60 * time.Millisecond}}, "720p", ReasonStart},
		{"queueing delay with the delivered rate goes further", []Stats{{Estimate: 600_000, QueueDelay: 300 * time.Millisecond}}, "180p", ReasonDelay},
		{"loss under the line", []Stats{{Estimate: 5e6, Loss: 0.05}}, "720p", ReasonStart},
		{"nack rate", []Stats{{Estimate: 5e6, NACKs: 15, Packets: 100}}, "360p", ReasonNACK},
		{"nack rate on few packets", []Stats{{Estimate: 5e6, NACKs: 3, Packets: 5}}, "720p", ReasonStart},
		{"loss with a low estimate goes further", []Stats{{Estimate: 300_000, Loss: 0.3}}, "180p", ReasonLoss},
		{"loss with no rung fitting caps fps", []Stats{{Estimate: 100_000, Loss: 0.3}}, "180p", ReasonLoss},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeeder(DefaultConfig(), ladder)
			if d := f.next(Stats{Estimate: 5e6}); d.Rung != "720p" || d.Reason != ReasonStart || !d.Changed {
				t.Fatalf("start %+v", d)
			}
			var d Decision
			for _, s := range tc.stats {
				d = f.next(s)
			}
			if d.Rung != tc.rung || d.Reason != tc.reason {
				t.Fatalf("got %+v, want %s %s", d, tc.rung, tc.reason)
			}
			if tc.reason != ReasonStart {
				if !d.Changed || f.c.State() != StateCongested {
					t.Errorf("Changed=%v state=%s", d.Changed, f.c.State())
				}
				if f.c.ProbeTarget() != 0 {
					t.Errorf("probe %d while congested", f.c.ProbeTarget())
				}
			}
		})
	}
}

func TestStartRung(t *testing.T) {
	for _, tc := range []struct {
		start string
		est   int
		want  string
		fps   int
	}{
		{"", 0, "360p", 0},
		{"180p", 0, "180p", 0},
		{"nope", 0, "360p", 0},
		{"180p", 5e6, "720p", 0},
		{"", 1_100_000, "360p", 0},
		{"", 200_000, "180p", 7},
	} {
		cfg := DefaultConfig()
		cfg.StartRung = tc.start
		d := Replay(cfg, ladder, []Stats{{Now: t0, Estimate: tc.est}})[0]
		if d.Rung != tc.want || d.FPSCap != tc.fps || d.Reason != ReasonStart || !d.Changed {
			t.Errorf("start %q est %d: %+v, want %s fps %d", tc.start, tc.est, d, tc.want, tc.fps)
		}
	}
}

// TestTooThinThenAudioOnly: an estimate that sinks without loss caps the
// frame rate first, then goes audio-only, then recovers.
func TestTooThinThenAudioOnly(t *testing.T) {
	f := newFeeder(DefaultConfig(), ladder)
	f.hold(Stats{Estimate: 400_000}, time.Second)
	if d := f.c.last; d.Rung != "180p" || d.FPSCap != 0 {
		t.Fatalf("at 400 kb/s: %+v", d)
	}
	// Under 250 kb/s x 1.25 the rung is not picked, but it is kept while
	// the estimate carries its bitrate.
	d := f.hold(Stats{Estimate: 280_000}, time.Second)
	if d.Rung != "180p" || d.FPSCap != 0 {
		t.Fatalf("at 280 kb/s: %+v, want 180p kept", d)
	}
	d = f.hold(Stats{Estimate: 230_000}, time.Second)
	if d.Rung != "180p" || d.FPSCap != 7 || d.Reason != ReasonTooThin || d.AudioOnly {
		t.Fatalf("at 230 kb/s: %+v, want 180p capped to 7 fps, too-thin", d)
	}
	// Under 0.6 x 250 kb/s, but not yet for 2 s.
	d = f.hold(Stats{Estimate: 120_000}, 1800*time.Millisecond)
	if d.AudioOnly {
		t.Fatalf("audio-only before 2 s under the line: %+v", d)
	}
	d = f.hold(Stats{Estimate: 120_000}, 600*time.Millisecond)
	if !d.AudioOnly || d.Reason != ReasonAudioOnly || f.c.State() != StateAudioOnly {
		t.Fatalf("not audio-only: %+v %s", d, f.c.State())
	}
	// Back above 250 kb/s x 1.4 = 350 kb/s: recovered after HoldUp, not before.
	d = f.hold(Stats{Estimate: 360_000}, 2*time.Second)
	if !d.AudioOnly {
		t.Fatalf("left audio-only before the hold: %+v", d)
	}
	d = f.hold(Stats{Estimate: 360_000}, 3*time.Second)
	if d.AudioOnly || d.FPSCap != 0 || d.Rung != "180p" || d.Reason != ReasonRecovered {
		t.Fatalf("got %+v, want 180p recovered", d)
	}
}

func TestManualOverrideAndClear(t *testing.T) {
	f := newFeeder(DefaultConfig(), ladder)
	f.next(Stats{Estimate: 5e6})
	if err := f.c.SetManual("4k"); !errors.Is(err, ErrUnknownRung) {
		t.Fatalf("SetManual(4k) = %v, want ErrUnknownRung", err)
	}
	if err := f.c.SetManual("180p"); err != nil {
		t.Fatal(err)
	}
	d := f.next(Stats{Estimate: 5e6})
	if d.Rung != "180p" || d.Reason != ReasonManual || !d.Changed || f.c.State() != StateManual {
		t.Fatalf("manual: %+v %s", d, f.c.State())
	}
	// Manual holds whatever the link says: no cap, no audio-only, no probe.
	d = f.hold(Stats{Estimate: 50_000, Loss: 0.5}, 5*time.Second)
	if d.Rung != "180p" || d.AudioOnly || d.FPSCap != 0 || d.Reason != ReasonManual || d.Changed {
		t.Fatalf("manual under a thin link: %+v", d)
	}
	if f.c.ProbeTarget() != 0 {
		t.Errorf("probe %d in manual", f.c.ProbeTarget())
	}
	f.c.ClearManual()
	d = f.next(Stats{Estimate: 50_000})
	if d.Rung != "180p" || d.FPSCap != 7 || d.Reason != ReasonAuto || !d.Changed {
		t.Fatalf("after ClearManual: %+v, want 180p capped, auto", d)
	}
	d = f.hold(Stats{Estimate: 50_000}, 3*time.Second)
	if !d.AudioOnly {
		t.Fatalf("no audio-only after clearing: %+v", d)
	}
	// A manual choice set before the first Update wins from the start.
	c := New(DefaultConfig(), ladder, t0)
	if err := c.SetManual("720p"); err != nil {
		t.Fatal(err)
	}
	if d := c.Update(Stats{Now: t0, Estimate: 100_000}); d.Rung != "720p" || d.Reason != ReasonManual {
		t.Fatalf("manual at start: %+v", d)
	}
}

func TestSetRungs(t *testing.T) {
	f := newFeeder(DefaultConfig(), ladder)
	f.hold(Stats{Estimate: 2e6}, time.Second)
	if f.c.last.Rung != "360p" {
		t.Fatalf("at 2 Mb/s: %+v", f.c.last)
	}
	// 360p is still there: kept.
	f.c.SetRungs([]Rung{{Name: "180p", FPS: 15, Bitrate: 250_000}, {Name: "1080p", FPS: 30, Bitrate: 5e6}, {Name: "360p", FPS: 30, Bitrate: 800_000}})
	if d := f.next(Stats{Estimate: 2e6}); d.Rung != "360p" || d.Changed {
		t.Fatalf("kept: %+v", d)
	}
	// 360p is gone: the nearest lower by bitrate.
	f.c.SetRungs([]Rung{{Name: "1080p", FPS: 30, Bitrate: 5e6}, {Name: "480p", FPS: 30, Bitrate: 1_200_000}, {Name: "240p", FPS: 30, Bitrate: 400_000}})
	if d := f.next(Stats{Estimate: 2e6}); d.Rung != "240p" || !d.Changed || d.Reason != ReasonLadder {
		t.Fatalf("moved: %+v", d)
	}
	// Nothing lower: the lowest, whose frame rate the estimate then caps.
	f.c.SetRungs([]Rung{{Name: "4k", FPS: 30, Bitrate: 15e6}, {Name: "1080p", FPS: 30, Bitrate: 5e6}})
	if d := f.next(Stats{Estimate: 2e6}); d.Rung != "1080p" || d.FPSCap != 15 || d.Reason != ReasonTooThin {
		t.Fatalf("nothing lower: %+v", d)
	}
	// An empty ladder: audio only, no panic; a ladder again: start afresh.
	f.c.SetRungs(nil)
	if d := f.next(Stats{Estimate: 2e6}); !d.AudioOnly || d.Reason != ReasonNoRungs || !d.Changed {
		t.Fatalf("no rungs: %+v", d)
	}
	if err := f.c.SetManual("360p"); !errors.Is(err, ErrUnknownRung) {
		t.Fatalf("SetManual on an empty ladder: %v", err)
	}
	f.c.SetRungs(ladder)
	if d := f.next(Stats{Estimate: 2e6}); d.Rung != "360p" || d.Reason != ReasonStart || !d.Changed {
		t.Fatalf("ladder back: %+v", d)
	}
	// A manual rung that leaves the ladder moves to the nearest lower.
	if err := f.c.SetManual("720p"); err != nil {
		t.Fatal(err)
	}
	f.c.SetRungs(ladder[1:])
	if d := f.next(Stats{Estimate: 2e6}); d.Rung != "360p" || d.Reason != ReasonManual {
		t.Fatalf("manual moved: %+v", d)
	}
	// Audio-only stays audio-only on the new lowest rung.
	g := newFeeder(DefaultConfig(), ladder)
	g.hold(Stats{Estimate: 50_000}, 3*time.Second)
	if !g.c.last.AudioOnly {
		t.Fatalf("not audio-only: %+v", g.c.last)
	}
	g.c.SetRungs(ladder[:2])
	if d := g.next(Stats{Estimate: 50_000}); !d.AudioOnly || d.Rung != "360p" {
		t.Fatalf("audio-only on the new ladder: %+v", d)
	}
}

// TestBackoffDoubling: GCC overshoots (4.2 Mb/s) on a 2.2 Mb/s link, so
// every switch up to 720p (2.5 Mb/s) loses packets: each failed try
// doubles the hold before the next, up to MaxHoldUp.
func TestBackoffDoubling(t *testing.T) {
	l := newLink(4, segment{160 * time.Second, 2_200_000})
	l.estimate = func(time.Duration) int { return 4_200_000 }
	steps := run(t, DefaultConfig(), l)
	checkInvariants(t, steps)
	var ups, backs []time.Duration
	for _, s := range switchTimes(steps) {
		switch {
		case s.dec.Rung == "720p":
			ups = append(ups, s.at)
		case s.dec.Reason == ReasonBackoff:
			backs = append(backs, s.at)
		}
	}
	t.Logf("up at %v, back off at %v", ups, backs)
	// The start at 720p fails without a preceding up-switch (congestion:loss);
	// then hold 3 s, and each failure doubles: 6, 12, 24, 40, 40.
	want := []time.Duration{3, 6, 12, 24, 40, 40}
	if len(ups) < len(want) || len(backs) < len(want)-1 {
		t.Fatalf("%d up-switches, %d backoffs; want at least %d", len(ups), len(backs), len(want))
	}
	prevDown := steps[1].at // the first step down, from the start rung
	for i, w := range want {
		got := ups[i] - prevDown
		if got < w*time.Second || got > w*time.Second+400*time.Millisecond {
			t.Errorf("try %d: up %v after the step down, want %v s", i+1, got, w)
		}
		if i < len(backs) {
			if backs[i]-ups[i] > time.Second {
				t.Errorf("try %d: backed off %v after the up-switch", i+1, backs[i]-ups[i])
			}
			prevDown = backs[i]
		}
	}
}

// TestHoldResets: a doubled hold returns to HoldUp once its rung has held
// for HoldReset without congestion.
func TestHoldResets(t *testing.T) {
	f := newFeeder(DefaultConfig(), ladder)
	f.next(Stats{Estimate: 2e6})
	f.c.holdUp["720p"] = 12 * time.Second
	d := f.hold(Stats{Estimate: 5e6}, 11*time.Second)
	if d.Rung != "360p" {
		t.Fatalf("up before the doubled hold: %+v", d)
	}
	d = f.hold(Stats{Estimate: 5e6}, 2*time.Second)
	if d.Rung != "720p" {
		t.Fatalf("not up after the doubled hold: %+v", d)
	}
	f.hold(Stats{Estimate: 5e6}, 29*time.Second)
	if got := f.c.holdFor(0); got != 12*time.Second {
		t.Fatalf("hold reset before 30 s: %v", got)
	}
	f.hold(Stats{Estimate: 5e6}, 2*time.Second)
	if got := f.c.holdFor(0); got != 3*time.Second {
		t.Fatalf("hold after 30 s = %v, want 3 s", got)
	}
}

func TestProbeTarget(t *testing.T) {
	f := newFeeder(DefaultConfig(), ladder)
	f.hold(Stats{Estimate: 2e6}, time.Second)
	if got := f.c.ProbeTarget(); got != 3_500_000 || f.c.State() != StateProbing {
		t.Fatalf("probe = %d state %s, want 3.5 Mb/s probing", got, f.c.State())
	}
	// Each failed probe (congestion while probing) keeps the rung, which
	// still fits, and doubles the pause before the next probe: 2, 4, 4 s.
	for _, want := range []time.Duration{4, 4, 4} {
		d := f.next(Stats{Estimate: 2e6, Loss: 0.2, Probing: true})
		if d.Rung != "360p" || f.c.ProbeTarget() != 0 || f.c.State() != StateCongested {
			t.Fatalf("failed probe: %+v probe %d %s", d, f.c.ProbeTarget(), f.c.State())
		}
		var waited time.Duration
		for f.next(Stats{Estimate: 2e6}); f.c.ProbeTarget() == 0; f.next(Stats{Estimate: 2e6}) {
			if f.c.State() != StateHolding {
				t.Fatalf("state %s in the probe backoff", f.c.State())
			}
			waited += tick
		}
		if waited+tick != want*time.Second {
			t.Errorf("probe paused %v, want %v s", waited+tick, want)
		}
	}
	// A step up that holds past its fail window resets the backoff.
	f.hold(Stats{Estimate: 5e6}, 10*time.Second)
	if f.c.last.Rung != "720p" || f.c.State() != StateStable || f.c.ProbeTarget() != 0 {
		t.Fatalf("at the top: %+v %s probe %d", f.c.last, f.c.State(), f.c.ProbeTarget())
	}
	if f.c.probeBackoff != 2*time.Second {
		t.Errorf("probe backoff %v after a good up-switch, want 2 s", f.c.probeBackoff)
	}
	// No probe at the top, nor while the next rung is affordable (holding).
	g := newFeeder(DefaultConfig(), ladder)
	g.next(Stats{Estimate: 2e6})
	g.next(Stats{Estimate: 20e6})
	g.next(Stats{Estimate: 20e6})
	if g.c.ProbeTarget() != 0 || g.c.State() != StateHolding {
		t.Errorf("probe %d state %s while the next rung is affordable", g.c.ProbeTarget(), g.c.State())
	}
}

func TestReplayIsDeterministic(t *testing.T) {
	l := newLink(5, segment{20 * time.Second, 5e6}, segment{20 * time.Second, 600_000}, segment{20 * time.Second, 100_000}, segment{20 * time.Second, 3e6})
	steps := run(t, DefaultConfig(), l)
	stats := make([]Stats, len(steps))
	for i, s := range steps {
		stats[i] = s.stats
	}
	got := Replay(DefaultConfig(), ladder, stats)
	for i := range got {
		if got[i] != steps[i].dec {
			t.Fatalf("%v: replay %+v, live %+v", steps[i].at, got[i], steps[i].dec)
		}
	}
	if len(Replay(DefaultConfig(), ladder, nil)) != 0 {
		t.Fatal("Replay of nothing")
	}
}

func TestNoRungsNoPanic(t *testing.T) {
	for _, d := range Replay(Config{}, nil, []Stats{{Now: t0}, {Now: t0.Add(tick), Estimate: 1e6, Loss: 1, Overuse: true}}) {
		if !d.AudioOnly || d.Reason != ReasonNoRungs {
			t.Fatalf("%+v", d)
		}
	}
	// Time going backwards or a zero time does not panic either.
	c := New(DefaultConfig(), ladder, t0)
	c.Update(Stats{Now: t0.Add(time.Hour), Estimate: 1e6})
	c.Update(Stats{Estimate: 5e6})
	if d := c.Update(Stats{Now: t0, Estimate: 5e6}); d.Rung == "" || d.Reason == "" {
		t.Fatalf("%+v", d)
	}
}

// TestDownSettle: one step down per settle time (1 s, or 2 x RTT when
// longer) while congestion persists.
func TestDownSettle(t *testing.T) {
	for _, tc := range []struct {
		rtt  time.Duration
		wait time.Duration
	}{{50 * time.Millisecond, time.Second}, {time.Second, 2 * time.Second}} {
		f := newFeeder(DefaultConfig(), ladder)
		f.next(Stats{Estimate: 5e6, RTT: tc.rtt})
		if d := f.next(Stats{Estimate: 5e6, Loss: 0.3}); d.Rung != "360p" {
			t.Fatalf("first step: %+v", d)
		}
		var steps time.Duration
		for f.c.last.Rung == "360p" {
			f.next(Stats{Estimate: 5e6, Loss: 0.3})
			steps += tick
		}
		if steps != tc.wait || f.c.last.Rung != "180p" || f.c.last.Reason != ReasonLoss {
			t.Errorf("rtt %v: second step after %v to %+v, want %v", tc.rtt, steps, f.c.last, tc.wait)
		}
	}
}

// TestProbedStepsUpSooner: a clean probe's measured rate is taken at once,
// and the step up it allows waits ProbeHold, not HoldUp.
func TestProbedStepsUpSooner(t *testing.T) {
	for _, tc := range []struct {
		name   string
		probed bool
		want   time.Duration
	}{
		{"estimate", false, 3 * time.Second},
		{"probe", true, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeeder(DefaultConfig(), ladder)
			f.hold(Stats{Estimate: 600_000}, 2*time.Second)
			if f.c.last.Rung != "180p" {
				t.Fatalf("start: %+v", f.c.last)
			}
			start := f.d
			for f.c.last.Rung == "180p" && f.d-start < 10*time.Second {
				f.next(Stats{Estimate: 1_300_000, Probed: tc.probed})
			}
			got := f.d - start
			if f.c.last.Rung != "360p" || got < tc.want || got > tc.want+time.Second {
				t.Errorf("up to %s after %v, want 360p after %v (and within 1 s more for the rise)", f.c.last.Rung, got, tc.want)
			}
		})
	}
}

// TestFailedProbeAftermath: the queue a failed probe built is not taken for
// the link failing while it drains; congestion later is.
func TestFailedProbeAftermath(t *testing.T) {
	f := newFeeder(DefaultConfig(), ladder)
	f.hold(Stats{Estimate: 2e6}, time.Second)
	if f.c.ProbeTarget() == 0 || f.c.last.Rung != "360p" {
		t.Fatalf("not probing from 360p: %+v probe %d", f.c.last, f.c.ProbeTarget())
	}
	for i := 0; i < 4; i++ { // 800 ms of the probe's queue draining
		if d := f.next(Stats{Estimate: 2e6, QueueDelay: 150 * time.Millisecond, Probing: true}); d.Rung != "360p" || d.FPSCap != 0 {
			t.Fatalf("update %d after the failed probe: %+v", i, d)
		}
	}
	f.hold(Stats{Estimate: 2e6}, 2*time.Second)
	if f.c.ProbeTarget() != 0 {
		t.Fatalf("probing again 2 s after a failed probe")
	}
	f.next(Stats{Estimate: 2e6, QueueDelay: 150 * time.Millisecond})
	if d := f.next(Stats{Estimate: 2e6, QueueDelay: 150 * time.Millisecond}); d.Rung != "180p" || d.Reason != ReasonDelay {
		t.Fatalf("congestion 2 s after the probe: %+v, want a step down to 180p", d)
	}
}
