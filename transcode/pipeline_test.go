package transcode

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

func TestPipelineLadder(t *testing.T) {
	defer goleak.VerifyNone(t)
	src := makeInput(t, "in.flv",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30",
		"-c:a", "aac", "-b:a", "96k")
	tracks, pkts := demux(t, src)

	hub := newTestHub(DefaultConfig())
	pub, err := hub.Publish("ladder", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	feeds := waitRungs(t, st)
	var names []string
	for _, f := range feeds {
		names = append(names, f.Info().Name)
	}
	if !slices.Equal(names, []string{"360p", "180p", "180p-lowfps"}) {
		t.Fatalf("rungs = %v, want [360p 180p 180p-lowfps] (no upscale of a 640x360 source)", names)
	}
	readers := make([]*stream.Reader, len(feeds))
	for i, f := range feeds {
		readers[i] = f.Subscribe(4096)
	}
	audio := st.Audio().Subscribe(4096)

	// First second, then an on-demand keyframe on 180p only, then the rest.
	split := 0
	for i, p := range pkts {
		if p.Kind == stream.KindVideo && p.DTS >= time.Second {
			split = i
			break
		}
	}
	publishAll(t, pub, pkts[first:split])
	waitIdle(t, st, pub)
	before := drain(readers[1])
	lastBefore := before[len(before)-1].PTS
	feeds[1].RequestKeyframe()
	publishAll(t, pub, pkts[split:])
	waitIdle(t, st, pub)

	out := [][]*stream.Packet{drain(readers[0]), append(before, drain(readers[1])...)}
	aout := drain(audio)
	pub.Close()
	hub.Close()

	// Output decodes at the rung sizes.
	want := [][2]int{{640, 360}, {320, 180}}
	var counts [2]int
	for i, o := range out {
		n, w, h, errs := decodeVideo(t, o)
		if errs > 0 || n == 0 || w != want[i][0] || h != want[i][1] {
			t.Errorf("%s: %d frames %dx%d, %d errors; want %dx%d, no errors", names[i], n, w, h, errs, want[i][0], want[i][1])
		}
		counts[i] = n
		for _, p := range o {
			if p.Kind != stream.KindVideo || len(p.Data) == 0 || p.DTS > p.PTS {
				t.Fatalf("%s: bad packet %+v", names[i], p)
			}
		}
	}
	if counts[0] < 110 {
		t.Errorf("360p: %d frames, want about 120", counts[0])
	}
	if r := float64(counts[1]) / float64(counts[0]); r < 0.45 || r > 0.6 {
		t.Errorf("180p/360p frames = %d/%d, want about half", counts[1], counts[0])
	}

	// Scheduled keyframes: every 2 s by PTS, at the same PTS on both rungs.
	k0, k1 := keyframePTS(out[0]), keyframePTS(out[1])
	if len(k0) < 2 {
		t.Fatalf("360p keyframes %v, want at least 2", k0)
	}
	for i, k := range k0 {
		if i > 0 && k-k0[i-1] != 2*time.Second {
			t.Errorf("360p keyframes %v, want every 2s", k0)
		}
		if !slices.Contains(k1, k) {
			t.Errorf("keyframe at %v on 360p is missing on 180p (%v)", k, k1)
		}
	}
	// The on-demand one: on 180p only, soon after the request.
	var extra []time.Duration
	for _, k := range k1 {
		if !slices.Contains(k0, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) != 1 || extra[0] <= lastBefore || extra[0] > lastBefore+300*time.Millisecond {
		t.Errorf("on-demand keyframes on 180p %v, want one soon after %v (360p %v)", extra, lastBefore, k0)
	}

	// Opus: 20 ms packets for the 4 s of audio.
	if len(aout) < 180 {
		t.Errorf("%d Opus packets, want about 200", len(aout))
	}
	for _, p := range aout {
		if p.Kind != stream.KindAudio || p.Duration != 20*time.Millisecond || len(p.Data) == 0 {
			t.Fatalf("bad Opus packet %+v", p)
		}
	}
	checkFreed(t)
}

func TestPipelineCorruptH264(t *testing.T) {
	defer goleak.VerifyNone(t)
	src := makeInput(t, "in.flv",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
		"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30")
	tracks, pkts := demux(t, src)
	// Garble the slices of non-keyframes between 1.2 s and 1.6 s.
	garbled := 0
	for i, p := range pkts {
		if p.Kind == stream.KindVideo && !p.Keyframe && p.DTS >= 1200*time.Millisecond && p.DTS < 1600*time.Millisecond {
			d := append([]byte(nil), p.Data...)
			for j := 5; j < len(d); j++ {
				d[j] ^= byte(j*131 + 7)
			}
			cp := p.Clone()
			cp.Data = d
			pkts[i] = cp
			garbled++
		}
	}
	cfg := DefaultConfig()
	hub := newTestHub(cfg)
	pub, err := hub.Publish("corrupt", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	errsBefore := decodeErrors(t, "corrupt")
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	feeds := waitRungs(t, st)
	r := feeds[0].Subscribe(4096)
	publishAll(t, pub, pkts[first:])
	waitIdle(t, st, pub)
	out := drain(r)
	// Read before the stream ends: an ended stream's series are deleted.
	errs := decodeErrors(t, "corrupt") - errsBefore
	pub.Close()
	hub.Close()

	t.Logf("garbled %d packets: %v decode errors, %d packets out", garbled, errs, len(out))
	if errs < 1 {
		t.Errorf("DecodeErrors did not grow after %d garbled packets", garbled)
	}
	resumed := false
	for _, p := range out {
		if p.Keyframe && p.PTS >= 1600*time.Millisecond {
			resumed = true
		}
	}
	if !resumed || out[len(out)-1].PTS < 3500*time.Millisecond {
		t.Errorf("output did not resume after the corruption (last PTS %v)", out[len(out)-1].PTS)
	}
	if n, _, _, derr := decodeVideo(t, out); derr > 0 || n < 40 {
		t.Errorf("output: %d frames, %d decode errors", n, derr)
	}
	checkFreed(t)
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Ladder[1].Width = 641
	if err := c.Validate(); err == nil || err.Error()[:15] != "ladder[1].width" {
		t.Errorf("odd width: %v", err)
	}
	c = DefaultConfig()
	c.Preset = "warp"
	if err := c.Validate(); err == nil {
		t.Error("bad preset accepted")
	}
	// A rung named like the capped variant of another: any rung may be
	// the lowest of a small source's ladder.
	c = DefaultConfig()
	c.Ladder = append(c.Ladder, Rung{Name: "360p-lowfps", Width: 320, Height: 180, FPS: 10, Bitrate: 100_000})
	err := c.Validate()
	if !errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), "ladder[3].name") || !strings.Contains(err.Error(), "low_fps_rung") {
		t.Errorf("rung named 360p-lowfps: %v, want a ladder[3].name error", err)
	}
	c.LowFPSRung = false
	if err := c.Validate(); err != nil {
		t.Errorf("rung named 360p-lowfps with low_fps_rung off: %v", err)
	}
}

func TestPlanLadder(t *testing.T) {
	l := DefaultConfig().Ladder
	names := func(rs []plannedRung) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	if got := planLadder(l, 1920, 1080, false); !slices.Equal(names(got), []string{"720p", "360p", "180p"}) {
		t.Errorf("1080p source: %v", got)
	}
	got := planLadder(l, 1920, 1080, true)
	if !slices.Equal(names(got), []string{"720p", "360p", "180p", "180p-lowfps"}) {
		t.Errorf("1080p source with the capped rung: %v", got)
	}
	want := plannedRung{Rung: Rung{Name: "180p-lowfps", Width: 320, Height: 180, FPS: 7, Bitrate: 125_000}, lowFPSOf: "180p"}
	if low := got[len(got)-1]; low != want {
		t.Errorf("capped rung %+v, want %+v", low, want)
	}
	for _, r := range got[:len(got)-1] {
		if r.lowFPSOf != "" {
			t.Errorf("rung %s marked as the capped variant of %q", r.Name, r.lowFPSOf)
		}
	}
	if got := planLadder(l, 640, 360, true); !slices.Equal(names(got), []string{"360p", "180p", "180p-lowfps"}) {
		t.Errorf("360p source: %v", got)
	}
	got = planLadder(l, 240, 136, true)
	if len(got) != 2 || got[0].Name != "136p" || got[0].FPS != 15 || got[0].Bitrate != 250000 || got[0].lowFPSOf != "" {
		t.Errorf("tiny source: %v", got)
	}
	want = plannedRung{Rung: Rung{Name: "136p-lowfps", Width: 240, Height: 136, FPS: 7, Bitrate: 125_000}, lowFPSOf: "136p"}
	if len(got) == 2 && got[1] != want {
		t.Errorf("tiny source's capped rung %+v, want %+v", got[1], want)
	}
	// The capped variant of the lowest rung that fits; at least 1 fps.
	l2 := []Rung{{Name: "hi", Width: 640, Height: 360, FPS: 30, Bitrate: 800_000}, {Name: "slow", Width: 320, Height: 180, FPS: 1, Bitrate: 40_000}}
	got = planLadder(l2, 640, 360, true)
	want = plannedRung{Rung: Rung{Name: "slow-lowfps", Width: 320, Height: 180, FPS: 1, Bitrate: 20_000}, lowFPSOf: "slow"}
	if len(got) != 3 || got[2] != want {
		t.Errorf("1 fps lowest rung: %+v, want last %+v", got, want)
	}
	if got := planLadder(nil, 640, 360, true); len(got) != 0 {
		t.Errorf("empty ladder: %v", got)
	}
}

// TestPlanLadderOrientation: rungs are defined by their short side and
// follow the source's orientation and aspect ratio, at even sizes, never
// above the source, with their names unchanged.
func TestPlanLadderOrientation(t *testing.T) {
	l := DefaultConfig().Ladder
	type rs struct {
		name string
		w, h int
	}
	for _, tc := range []struct {
		w, h int
		want []rs
	}{
		{1920, 1080, []rs{{"720p", 1280, 720}, {"360p", 640, 360}, {"180p", 320, 180}}},
		{1080, 1920, []rs{{"720p", 720, 1280}, {"360p", 360, 640}, {"180p", 180, 320}}},
		{720, 1280, []rs{{"720p", 720, 1280}, {"360p", 360, 640}, {"180p", 180, 320}}},
		{1440, 1080, []rs{{"720p", 960, 720}, {"360p", 480, 360}, {"180p", 240, 180}}}, // 4:3
		{1080, 1440, []rs{{"720p", 720, 960}, {"360p", 360, 480}, {"180p", 180, 240}}}, // 3:4
		{641, 361, []rs{{"360p", 640, 360}, {"180p", 320, 180}}},                       // odd: even rungs
		{361, 641, []rs{{"360p", 360, 640}, {"180p", 180, 320}}},
		{360, 361, []rs{{"360p", 360, 360}, {"180p", 180, 180}}},
		{1000, 1000, []rs{{"720p", 720, 720}, {"360p", 360, 360}, {"180p", 180, 180}}},
		{179, 321, []rs{{"178p", 178, 320}}}, // smaller than every rung: the source, even
	} {
		got := planLadder(l, tc.w, tc.h, false)
		var names []rs
		for _, r := range got {
			names = append(names, rs{r.Name, r.Width, r.Height})
			if r.Width > tc.w || r.Height > tc.h || r.Width%2 != 0 || r.Height%2 != 0 {
				t.Errorf("%dx%d: rung %s at %dx%d: above the source or odd", tc.w, tc.h, r.Name, r.Width, r.Height)
			}
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("%dx%d source: %v, want %v", tc.w, tc.h, names, tc.want)
		}
	}
	// The capped variant has its base rung's size.
	got := planLadder(l, 1080, 1920, true)
	if low := got[len(got)-1]; low.Name != "180p-lowfps" || low.Width != 180 || low.Height != 320 {
		t.Errorf("portrait capped rung %+v, want 180p-lowfps at 180x320", low)
	}
}

func decodeErrors(t *testing.T, name string) float64 {
	var m dto.Metric
	if err := metrics.DecodeErrors.WithLabelValues(name).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
