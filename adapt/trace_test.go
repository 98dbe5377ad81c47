package adapt

import (
	"testing"
	"time"
)

// TestRFC8867VariableCapacity replays RFC 8867 section 5.1 (variable
// available capacity, single flow) scaled x2 to this ladder: 2 Mb/s for
// 40 s, 5 Mb/s for 20 s, 1.2 Mb/s for 20 s, 2 Mb/s for 20 s.
func TestRFC8867VariableCapacity(t *testing.T) {
	l := newLink(1,
		segment{40 * time.Second, 2_000_000},
		segment{20 * time.Second, 5_000_000},
		segment{20 * time.Second, 1_200_000},
		segment{20 * time.Second, 2_000_000},
	)
	steps := run(t, DefaultConfig(), l)
	logSwitches(t, steps)
	checkInvariants(t, steps)

	if got := steps[0].dec; got.Rung != "360p" || got.Reason != ReasonStart {
		t.Fatalf("start = %+v, want 360p start", got)
	}
	up, ok := firstAfter(steps, 40*time.Second, rungIs("720p"))
	if !ok || up.at-40*time.Second > 10*time.Second {
		t.Fatalf("step up to 720p at %v, want within 10 s of 40 s", up.at)
	}
	down, ok := firstAfter(steps, 60*time.Second, func(s step) bool { return s.dec.Rung != "720p" })
	if !ok || down.at-60*time.Second > 2*time.Second {
		t.Fatalf("step down at %v, want within 2 s of 60 s", down.at)
	}
	if down.dec.Rung != "360p" {
		t.Fatalf("step down to %s, want 360p (fits 1.2 Mb/s)", down.dec.Rung)
	}
	t.Logf("step up %.1f s after the rise, step down %.1f s after the drop",
		(up.at - 40*time.Second).Seconds(), (down.at - 60*time.Second).Seconds())

	// Steady stretches (leaving 10 s after each change to settle): no switch.
	for _, w := range [][2]time.Duration{{0, 40 * time.Second}, {50 * time.Second, 60 * time.Second},
		{70 * time.Second, 80 * time.Second}, {90 * time.Second, 100 * time.Second}} {
		for _, s := range switchTimes(steps) {
			if s.at > w[0] && s.at < w[1] {
				t.Errorf("switch at %v on the steady stretch %v..%v: %+v", s.at, w[0], w[1], s.dec)
			}
		}
	}
	// Back at 2 Mb/s, 360p and no further up-switch (720p does not fit).
	if last := steps[len(steps)-1].dec; last.Rung != "360p" {
		t.Errorf("final rung %s, want 360p", last.Rung)
	}
}

// TestDropAndRecover: 5 Mb/s, 600 kb/s, 5 Mb/s, 30 s each.
func TestDropAndRecover(t *testing.T) {
	l := newLink(2,
		segment{30 * time.Second, 5_000_000},
		segment{30 * time.Second, 600_000},
		segment{30 * time.Second, 5_000_000},
	)
	steps := run(t, DefaultConfig(), l)
	logSwitches(t, steps)
	checkInvariants(t, steps)

	if _, ok := firstAfter(steps, 0, rungIs("720p")); !ok {
		t.Fatal("never reached 720p at 5 Mb/s")
	}
	first, ok := firstAfter(steps, 30*time.Second, func(s step) bool { return s.dec.Rung != "720p" })
	if !ok || first.at-30*time.Second > 2*time.Second {
		t.Fatalf("first step down at %v, want within 2 s of 30 s", first.at)
	}
	if first.dec.Reason[:len("congestion")] != "congestion" {
		t.Errorf("first step down reason %q, want congestion:...", first.dec.Reason)
	}
	fits, ok := firstAfter(steps, 30*time.Second, rungIs("180p"))
	if !ok || fits.at-30*time.Second > 2*time.Second {
		t.Fatalf("at 180p (fits 600 kb/s) at %v, want within 2 s of 30 s", fits.at)
	}
	up, ok := firstAfter(steps, 60*time.Second, func(s step) bool { return s.dec.Rung != "180p" })
	if !ok || up.at-60*time.Second > 10*time.Second {
		t.Fatalf("first step up at %v, want within 10 s of 60 s", up.at)
	}
	top, ok := firstAfter(steps, 60*time.Second, rungIs("720p"))
	if !ok || top.at-60*time.Second > 10*time.Second {
		t.Fatalf("back at 720p at %v, want within 10 s of 60 s", top.at)
	}
	t.Logf("down %.1f s (fits %.1f s) after the drop; up %.1f s, top %.1f s after recovery",
		(first.at - 30*time.Second).Seconds(), (fits.at - 30*time.Second).Seconds(),
		(up.at - 60*time.Second).Seconds(), (top.at - 60*time.Second).Seconds())
	// No oscillation: while at 600 kb/s, never above 180p after settling.
	for _, s := range steps {
		if s.at > 33*time.Second && s.at < 60*time.Second && s.dec.Rung != "180p" {
			t.Fatalf("%v: %s on a 600 kb/s link", s.at, s.dec.Rung)
		}
	}
}

// TestSteadyLinkNoOscillation: 60 s of a constant link, at capacities
// well inside a rung and right at a rung's edge.
func TestSteadyLinkNoOscillation(t *testing.T) {
	for _, tc := range []struct {
		capacity    int
		maxSwitches int
	}{
		// Right at a rung's edge (1 Mb/s = 800 kb/s x 1.25, 3.2 Mb/s just
		// over 2.5 Mb/s x 1.25), noise may take one step down; the up
		// margin (1.4) keeps it from coming back up and down again.
		{600_000, 0}, {1_000_000, 1}, {1_050_000, 0}, {1_150_000, 0}, {2_000_000, 0},
		{3_200_000, 1}, {3_600_000, 0}, {5_000_000, 0}, {20_000_000, 0}, {60_000_000, 0},
	} {
		for seed := int64(1); seed <= 5; seed++ {
			steps := run(t, DefaultConfig(), newLink(seed, segment{60 * time.Second, tc.capacity}))
			checkInvariants(t, steps)
			sw := switchTimes(steps)
			if len(sw) > tc.maxSwitches {
				for _, s := range sw {
					t.Logf("  %v %+v", s.at, s.dec)
				}
				t.Errorf("capacity %d seed %d: %d switches in 60 s, want <= %d", tc.capacity, seed, len(sw), tc.maxSwitches)
			}
		}
	}
}

// TestAudioOnlyAndBack: 2 Mb/s, 100 kb/s for 20 s, back to 2 Mb/s.
func TestAudioOnlyAndBack(t *testing.T) {
	l := newLink(3,
		segment{10 * time.Second, 2_000_000},
		segment{20 * time.Second, 100_000},
		segment{20 * time.Second, 2_000_000},
	)
	steps := run(t, DefaultConfig(), l)
	logSwitches(t, steps)
	checkInvariants(t, steps)

	capped, ok := firstAfter(steps, 10*time.Second, func(s step) bool { return s.dec.FPSCap > 0 })
	if !ok || capped.dec.Rung != "180p" || capped.dec.FPSCap != 7 {
		t.Fatalf("no fps cap on 180p after the drop: %+v", capped.dec)
	}
	audio, ok := firstAfter(steps, 10*time.Second, func(s step) bool { return s.dec.AudioOnly })
	if !ok || audio.at <= capped.at {
		t.Fatalf("audio-only at %v, want after the fps cap at %v", audio.at, capped.at)
	}
	if audio.dec.Reason != ReasonAudioOnly || audio.state != StateAudioOnly {
		t.Errorf("audio-only decision %+v state %s", audio.dec, audio.state)
	}
	if audio.at-10*time.Second > 5*time.Second {
		t.Errorf("audio-only %v after the drop, want within 5 s", audio.at-10*time.Second)
	}
	back, ok := firstAfter(steps, 30*time.Second, func(s step) bool { return !s.dec.AudioOnly })
	if !ok || back.dec.Reason != ReasonRecovered || back.at-30*time.Second > 10*time.Second {
		t.Fatalf("left audio-only at %v with %+v, want recovered within 10 s of 30 s", back.at, back.dec)
	}
	// A recovered link goes straight to the rung it affords.
	if back.dec.Rung != "360p" || back.dec.FPSCap != 0 {
		t.Errorf("left audio-only to %+v, want 360p, the rung 2 Mb/s affords", back.dec)
	}
	if last := steps[len(steps)-1].dec; last.Rung != "360p" {
		t.Errorf("final %+v, want 360p at 2 Mb/s", last)
	}
	t.Logf("fps cap %.1f s, audio-only %.1f s after the drop; recovered %.1f s after the return",
		(capped.at - 10*time.Second).Seconds(), (audio.at - 10*time.Second).Seconds(), (back.at - 30*time.Second).Seconds())
}
