package cpu

import (
	"math"
	"testing"
	"time"

	"github.com/mutstream/mutstream/gpu"
)

// frameStep is 25 frames per second.
const frameStep = 40 * time.Millisecond

// feed runs the analyze op over frames made by pic(i) at PTS i*frameStep
// and returns the events, checking that no frame changes.
func feed(t *testing.T, js string, format gpu.PixelFormat, n int, pic func(i int) func(c, x, y int) byte) []gpu.Event {
	t.Helper()
	op := prepare(t, js, 64, 36, format)
	pool := NewPool(2)
	defer pool.Close()
	var events []gpu.Event
	for i := range n {
		f := testFrame(format, 64, 36, pic(i))
		orig := cloneFrame(f)
		info := gpu.FrameInfo{Stream: "cam", PTS: time.Duration(i) * frameStep, Emit: func(e gpu.Event) { events = append(events, e) }}
		if err := op.Apply(f, info, pool); err != nil {
			t.Fatal(err)
		}
		sameSamples(t, "analyze", f, orig)
		checkPadding(t, f)
	}
	return events
}

// ofTypes keeps the events whose type is one of types.
func ofTypes(events []gpu.Event, types ...string) []gpu.Event {
	var out []gpu.Event
	for _, e := range events {
		for _, ty := range types {
			if e.Type == ty {
				out = append(out, e)
			}
		}
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// moving is a picture that changes every frame, never black.
func moving(i int) func(c, x, y int) byte {
	return func(c, x, y int) byte {
		if c > 0 {
			return 128
		}
		return byte(60 + (x*3+y*5+i*11)%120)
	}
}

func flat(v byte) func(c, x, y int) byte {
	return func(c, _, _ int) byte {
		if c > 0 {
			return 128
		}
		return v
	}
}

func TestAnalyzeBlack(t *testing.T) {
	for _, format := range formats {
		// Black from frame 10 (0.4 s) to frame 30 (1.2 s).
		events := feed(t, `{"op":"analyze"}`, format, 40, func(i int) func(c, x, y int) byte {
			if i >= 10 && i < 30 {
				return flat(16)
			}
			return moving(i)
		})
		got := ofTypes(events, gpu.EventBlackStart, gpu.EventBlack)
		if len(got) != 2 {
			t.Fatalf("%v: got %+v, want black_start then black", format, got)
		}
		if s := got[0]; s.Type != gpu.EventBlackStart || !near(s.PTS, 0.4) || !near(val(s.From), 0.4) || s.Stream != "cam" {
			t.Fatalf("%v: start %+v", format, s)
		}
		if e := got[1]; e.Type != gpu.EventBlack || !near(val(e.From), 0.4) || !near(val(e.To), 1.2) || !near(e.PTS, 1.2) {
			t.Fatalf("%v: end %+v", format, e)
		}
		// The start is emitted once the section lasted min_duration: at
		// frame 23 (0.92 s, 0.52 s in), before the frozen frames that end it.
		idx := map[string]int{}
		for i, e := range events {
			idx[e.Type] = i
		}
		if idx[gpu.EventBlackStart] > idx[gpu.EventBlack] {
			t.Fatalf("%v: black before black_start: %+v", format, events)
		}
	}
}

func TestAnalyzeShortBlackIgnored(t *testing.T) {
	events := feed(t, `{"op":"analyze","min_duration":0.5}`, gpu.YUV420P, 30, func(i int) func(c, x, y int) byte {
		if i >= 10 && i < 20 { // 0.4 s
			return flat(0)
		}
		return moving(i)
	})
	if got := ofTypes(events, gpu.EventBlackStart, gpu.EventBlack); len(got) != 0 {
		t.Fatalf("a 0.4 s black section gave %+v", got)
	}
}

func TestAnalyzeBlackEndsBeforeStartSent(t *testing.T) {
	// Black frames 10..22 (0.4..0.88 s), first picture at 0.92 s: the last
	// black frame is 0.48 s in, the section 0.52 s long.
	events := feed(t, `{"op":"analyze"}`, gpu.NV12, 30, func(i int) func(c, x, y int) byte {
		if i >= 10 && i < 23 {
			return flat(10)
		}
		return moving(i)
	})
	got := ofTypes(events, gpu.EventBlackStart, gpu.EventBlack)
	if len(got) != 2 || got[0].Type != gpu.EventBlackStart || got[1].Type != gpu.EventBlack || !near(val(got[1].To), 0.92) {
		t.Fatalf("got %+v", got)
	}
}

func TestAnalyzeSceneCut(t *testing.T) {
	for _, format := range formats {
		// Dark moving picture, then from frame 12 (0.48 s) a bright one.
		events := feed(t, `{"op":"analyze"}`, format, 24, func(i int) func(c, x, y int) byte {
			if i < 12 {
				return func(c, x, y int) byte { return byte(40 + (x+y+i)%30) }
			}
			return func(c, x, y int) byte { return byte(180 + (x*y+i)%60) }
		})
		got := ofTypes(events, gpu.EventSceneCut)
		if len(got) != 1 || !near(got[0].PTS, 0.48) || got[0].Score < 0.35 || got[0].Score > 1 {
			t.Fatalf("%v: got %+v, want one scene_cut at 0.48", format, got)
		}
	}
}

func TestAnalyzeSceneCutsSpaced(t *testing.T) {
	// A cut on every frame: at most one per 0.5 s, the first at frame 1.
	events := feed(t, `{"op":"analyze"}`, gpu.YUV420P, 50, func(i int) func(c, x, y int) byte {
		if i%2 == 0 {
			return flat(30)
		}
		return flat(220)
	})
	got := ofTypes(events, gpu.EventSceneCut)
	if len(got) < 3 || !near(got[0].PTS, 0.04) {
		t.Fatalf("got %+v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i].PTS-got[i-1].PTS < gpu.SceneCutMinGap-1e-9 {
			t.Fatalf("cuts %v and %v closer than %v s", got[i-1].PTS, got[i].PTS, gpu.SceneCutMinGap)
		}
	}
}

func TestAnalyzeFrozen(t *testing.T) {
	for _, format := range formats {
		// One still picture for frames 0..29, then moving from 1.2 s.
		still := moving(0)
		events := feed(t, `{"op":"analyze"}`, format, 40, func(i int) func(c, x, y int) byte {
			if i < 30 {
				return still
			}
			return moving(i)
		})
		got := ofTypes(events, gpu.EventFrozenStart, gpu.EventFrozen)
		if len(got) != 2 || got[0].Type != gpu.EventFrozenStart || !near(got[0].PTS, 0) {
			t.Fatalf("%v: got %+v", format, got)
		}
		if e := got[1]; e.Type != gpu.EventFrozen || !near(val(e.From), 0) || !near(val(e.To), 1.2) || !near(e.PTS, 1.2) {
			t.Fatalf("%v: end %+v", format, e)
		}
		if n := len(ofTypes(events, gpu.EventBlack, gpu.EventBlackStart, gpu.EventSceneCut)); n != 0 {
			t.Fatalf("%v: unexpected events %+v", format, events)
		}
	}
}

func TestAnalyzeMeasure(t *testing.T) {
	op := prepare(t, `{"op":"analyze","subsample":1}`, 64, 36, gpu.NV12)
	m, ok := op.(gpu.Measurer)
	if !ok {
		t.Fatal("the analyze op is not a gpu.Measurer")
	}
	pool := NewPool(2)
	defer pool.Close()
	for i, v := range []byte{100, 151} {
		f := testFrame(gpu.NV12, 64, 36, flat(v))
		if err := op.Apply(f, gpu.FrameInfo{PTS: time.Duration(i) * frameStep}, pool); err != nil {
			t.Fatal(err)
		}
	}
	got := m.Measure()
	// 100 and 151 fall in histogram bins 12 and 18: all samples move.
	if !near(got.MeanLuma, 151) || !near(got.Motion, 51.0/255) || !near(got.SceneScore, 1) {
		t.Fatalf("got %+v", got)
	}
}

func TestAnalyzePTSBackRestarts(t *testing.T) {
	op := prepare(t, `{"op":"analyze"}`, 64, 36, gpu.YUV420P)
	pool := NewPool(1)
	defer pool.Close()
	var events []gpu.Event
	emit := func(e gpu.Event) { events = append(events, e) }
	pts := []time.Duration{0, frameStep, 5 * frameStep, 0}
	for i, p := range pts {
		v := byte(30)
		if i == 3 {
			v = 220 // a different picture right after the PTS went back
		}
		f := testFrame(gpu.YUV420P, 64, 36, flat(v))
		if err := op.Apply(f, gpu.FrameInfo{PTS: p, Emit: emit}, pool); err != nil {
			t.Fatal(err)
		}
	}
	if len(events) != 0 {
		t.Fatalf("got %+v; a restart has no previous frame to compare", events)
	}
	if m := op.(gpu.Measurer).Measure(); m.Motion != 0 || m.SceneScore != 0 {
		t.Fatalf("after restart: %+v", m)
	}
}

// val is *p, or NaN for a missing bound.
func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
