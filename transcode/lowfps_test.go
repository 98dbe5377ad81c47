package transcode

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// videoSplit returns the index of the first video packet with DTS >= d.
func videoSplit(t *testing.T, pkts []*stream.Packet, d time.Duration) int {
	t.Helper()
	i := slices.IndexFunc(pkts, func(p *stream.Packet) bool { return p.Kind == stream.KindVideo && p.DTS >= d })
	if i < 0 {
		t.Fatalf("no video packet at or after %v", d)
	}
	return i
}

// inWindow counts the packets with PTS in [from, to).
func inWindow(pkts []*stream.Packet, from, to time.Duration) int {
	n := 0
	for _, p := range pkts {
		if p.PTS >= from && p.PTS < to {
			n++
		}
	}
	return n
}

// frameRate returns the frames per second of pkts by PTS, and the median
// PTS step.
func frameRate(pkts []*stream.Packet) (fps float64, median time.Duration) {
	if len(pkts) < 2 {
		return 0, 0
	}
	pts := make([]time.Duration, len(pkts))
	for i, p := range pkts {
		pts[i] = p.PTS
	}
	slices.Sort(pts)
	steps := make([]time.Duration, 0, len(pts)-1)
	for i := 1; i < len(pts); i++ {
		steps = append(steps, pts[i]-pts[i-1])
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i] < steps[j] })
	return float64(len(pts)-1) / (pts[len(pts)-1] - pts[0]).Seconds(), steps[len(steps)/2]
}

// rungLabels lists the rungs that have mediad_rung_* series for streamName.
func rungLabels(t *testing.T, streamName string) []string {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "mediad_rung_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			var st, rung string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "stream":
					st = l.GetValue()
				case "rung":
					rung = l.GetValue()
				}
			}
			if st == streamName && !slices.Contains(out, rung) {
				out = append(out, rung)
			}
		}
	}
	return out
}

// TestLowFPSRung: the 180p rung's capped variant is paused while only 180p
// is watched; watched alone (180p paused) it runs from an IDR at about
// 7 fps; watched with 180p it encodes every other 180p frame (the same
// PTS), keeps the scheduled keyframes of 180p and gives an on-demand IDR
// of its own.
func TestLowFPSRung(t *testing.T) {
	defer goleak.VerifyNone(t)
	src := testClip(t, "in.flv", "testsrc2=size=640x360:rate=30", 6)
	tracks, pkts := demux(t, src)
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	framesBefore := counterValue(t, metrics.EncodedFrames, "lowfps", "180p-lowfps")
	hub := newTestHub(cfg)
	pub, err := hub.Publish("lowfps", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	feeds := waitRungs(t, st)
	if got := rungNames(feeds); !slices.Equal(got, []string{"360p", "180p", "180p-lowfps"}) {
		t.Fatalf("rungs = %v, want [360p 180p 180p-lowfps]", got)
	}
	want := stream.FeedInfo{Name: "180p-lowfps", Kind: stream.KindVideo, Codec: stream.CodecH264,
		Width: 320, Height: 180, FPS: 7, Bitrate: 125_000, LowFPSOf: "180p"}
	if got := feeds[2].Info(); got != want {
		t.Errorf("capped rung %+v, want %+v", got, want)
	}
	for _, f := range feeds[:2] {
		if f.Info().LowFPSOf != "" {
			t.Errorf("rung %s says it is the capped variant of %q", f.Info().Name, f.Info().LowFPSOf)
		}
	}
	f180, fLow := feeds[1], feeds[2]
	s1, s2, s3 := videoSplit(t, pkts, 1500*time.Millisecond), videoSplit(t, pkts, 3*time.Second), videoSplit(t, pkts, 5*time.Second)

	// 180p watched: its capped variant, watched by nobody, is paused.
	r180 := f180.Subscribe(4096)
	publishAll(t, pub, pkts[first:s1])
	waitIdle(t, st, pub)
	if p, _ := fLow.Stats(); p != 0 {
		t.Errorf("180p-lowfps, watched by nobody, wrote %d packets; want none", p)
	}
	if p, _ := f180.Stats(); p < 15 {
		t.Errorf("180p, watched, wrote %d packets; want about 22", p)
	}
	if g := gaugeValue(t, metrics.RungPaused, "lowfps", "180p-lowfps"); g != 1 {
		t.Errorf("mediad_rung_paused{180p-lowfps} = %v, want 1", g)
	}

	// Only the capped variant watched: 180p is paused but its scaled
	// frames still feed the variant.
	r180.Close()
	rLow := fLow.Subscribe(4096)
	n180, _ := f180.Stats()
	publishAll(t, pub, pkts[s1:s2])
	waitIdle(t, st, pub)
	if p, _ := f180.Stats(); p != n180 {
		t.Errorf("180p, no longer watched, wrote %d more packets; want none", p-n180)
	}
	if g := gaugeValue(t, metrics.RungPaused, "lowfps", "180p"); g != 1 {
		t.Errorf("mediad_rung_paused{180p} = %v with only its capped variant watched, want 1", g)
	}
	if g := gaugeValue(t, metrics.RungPaused, "lowfps", "180p-lowfps"); g != 0 {
		t.Errorf("mediad_rung_paused{180p-lowfps} = %v while watched, want 0", g)
	}
	alone := drain(rLow)
	if len(alone) == 0 || !alone[0].Keyframe {
		t.Fatalf("180p-lowfps watched alone: %d packets, want some from an IDR", len(alone))
	}
	fps, step := frameRate(alone)
	t.Logf("180p-lowfps alone: %d packets over [%v, %v], %.2f fps, median step %v", len(alone), alone[0].PTS, alone[len(alone)-1].PTS, fps, step)
	if fps < 6 || fps > 8.5 || step < 120*time.Millisecond || step > 210*time.Millisecond {
		t.Errorf("180p-lowfps alone at %.2f fps (median step %v), want about 7 fps", fps, step)
	}

	// Both watched; then an on-demand keyframe on the capped variant.
	r180 = f180.Subscribe(4096)
	publishAll(t, pub, pkts[s2:s3])
	waitIdle(t, st, pub)
	both := drain(rLow)
	if len(both) == 0 {
		t.Fatal("180p-lowfps got nothing with both rungs watched")
	}
	lastBefore := both[len(both)-1].PTS
	fLow.RequestKeyframe()
	publishAll(t, pub, pkts[s3:])
	waitIdle(t, st, pub)
	both = append(both, drain(rLow)...)
	o180 := drain(r180)
	lowFrames := counterValue(t, metrics.EncodedFrames, "lowfps", "180p-lowfps") - framesBefore
	pub.Close()
	hub.Close()

	if len(o180) == 0 || !o180[0].Keyframe {
		t.Fatalf("180p after a reader came back: %d packets, want some from an IDR", len(o180))
	}
	from, to := o180[0].PTS, o180[len(o180)-1].PTS
	nBase, nLow := inWindow(o180, from, to+time.Millisecond), inWindow(both, from, to+time.Millisecond)
	t.Logf("over [%v, %v]: 180p %d frames, 180p-lowfps %d", from, to, nBase, nLow)
	if r := float64(nLow) / float64(nBase); nBase < 30 || r < 0.4 || r > 0.56 {
		t.Errorf("180p-lowfps/180p frames = %d/%d over the same PTS range, want about half", nLow, nBase)
	}
	basePTS := map[time.Duration]bool{}
	for _, p := range o180 {
		basePTS[p.PTS] = true
	}
	for _, p := range both {
		if p.PTS >= from && !basePTS[p.PTS] {
			t.Errorf("180p-lowfps frame at %v is not a 180p frame: not from the same sequence", p.PTS)
		}
	}
	// Scheduled keyframes (all of 180p's after its resume IDR) are on the
	// capped variant too; its only other one came soon after the request.
	k180, kLow := keyframePTS(o180), keyframePTS(both)
	if len(k180) < 2 {
		t.Errorf("180p keyframes %v, want its resume IDR and a scheduled one", k180)
	}
	for _, k := range k180[1:] {
		if !slices.Contains(kLow, k) {
			t.Errorf("scheduled keyframe at %v on 180p is missing on 180p-lowfps (%v)", k, kLow)
		}
	}
	var extra []time.Duration
	for _, k := range kLow {
		if k >= from && !slices.Contains(k180, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) != 1 || extra[0] <= lastBefore || extra[0] > lastBefore+400*time.Millisecond {
		t.Errorf("on-demand keyframes on 180p-lowfps %v, want one soon after %v (180p %v)", extra, lastBefore, k180)
	}

	// All of the capped variant's output decodes, at the 180p size.
	all := append(alone, both...)
	if n, w, h, errs := decodeVideo(t, all); errs > 0 || n != len(all) || w != 320 || h != 180 {
		t.Errorf("180p-lowfps: %d frames of %d packets, %dx%d, %d errors; want all, 320x180, none", n, len(all), w, h, errs)
	}
	if int(lowFrames) != len(all) {
		t.Errorf("mediad_encoded_frames_total{180p-lowfps} = %v, want %d", lowFrames, len(all))
	}
	checkNoSeries(t, "lowfps")
	checkFreed(t)
}

// TestLowFPSRungReplan: when the source shrinks below 180p the capped
// variant follows the new lowest rung, and the old one retires with its
// metrics.
func TestLowFPSRungReplan(t *testing.T) {
	defer goleak.VerifyNone(t)
	big := testClip(t, "big.flv", "testsrc2=size=640x360:rate=30", 1)
	small := testClip(t, "small.flv", "testsrc2=size=240x136:rate=30", 3)
	tracks, pkts := demux(t, big)
	_, later := demux(t, small)
	cut := len(pkts)
	for _, p := range later {
		cp := p.Clone()
		cp.PTS += 1100 * time.Millisecond
		cp.DTS += 1100 * time.Millisecond
		pkts = append(pkts, cp)
	}
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	cfg.SourceRung = false
	hub := newTestHub(cfg)
	pub, err := hub.Publish("lowfpsreplan", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	feeds := waitRungs(t, st)
	if got := rungNames(feeds); !slices.Equal(got, []string{"360p", "180p", "180p-lowfps"}) {
		t.Fatalf("rungs = %v, want [360p 180p 180p-lowfps]", got)
	}
	rOld := feeds[2].Subscribe(4096)
	publishAll(t, pub, pkts[first:cut])
	waitIdle(t, st, pub)
	if p, _ := feeds[2].Stats(); p < 5 {
		t.Errorf("180p-lowfps wrote %d packets over the first second, want about 7", p)
	}

	// The source shrinks: the ladder is planned again with a rung at the
	// source size, and its capped variant.
	publishAll(t, pub, pkts[cut:cut+10])
	waitGone(t, feeds[2], "source shrank below 180p")
	rOld.Close()
	now := st.Rungs()
	if got := rungNames(now); !slices.Equal(got, []string{"136p", "136p-lowfps"}) {
		t.Fatalf("rungs after the source shrank = %v, want [136p 136p-lowfps]", got)
	}
	want := stream.FeedInfo{Name: "136p-lowfps", Kind: stream.KindVideo, Codec: stream.CodecH264,
		Width: 240, Height: 136, FPS: 7, Bitrate: 125_000, LowFPSOf: "136p"}
	if got := now[1].Info(); got != want {
		t.Errorf("capped rung %+v, want %+v", got, want)
	}
	r := now[1].Subscribe(4096)
	publishAll(t, pub, pkts[cut+10:])
	waitIdle(t, st, pub)
	out := drain(r)
	labels := rungLabels(t, "lowfpsreplan")
	pub.Close()
	hub.Close()

	for _, gone := range []string{"360p", "180p", "180p-lowfps"} {
		if slices.Contains(labels, gone) {
			t.Errorf("rung %s left the ladder but has metrics series (%v)", gone, labels)
		}
	}
	if !slices.Contains(labels, "136p-lowfps") {
		t.Errorf("no metrics series for 136p-lowfps (%v)", labels)
	}
	if len(out) == 0 || !out[0].Keyframe {
		t.Fatalf("136p-lowfps: %d packets, want some from an IDR", len(out))
	}
	fps, step := frameRate(out)
	t.Logf("136p-lowfps: %d packets, %.2f fps, median step %v", len(out), fps, step)
	if fps < 6 || fps > 8.5 {
		t.Errorf("136p-lowfps at %.2f fps, want about 7", fps)
	}
	if n, w, h, errs := decodeVideo(t, out); errs > 0 || n != len(out) || w != 240 || h != 136 {
		t.Errorf("136p-lowfps: %d frames of %d packets, %dx%d, %d errors; want all, 240x136, none", n, len(out), w, h, errs)
	}
	checkFreed(t)
}

// TestLowFPSRungOff: with low_fps_rung false there is no capped variant.
func TestLowFPSRungOff(t *testing.T) {
	defer goleak.VerifyNone(t)
	src := testClip(t, "in.flv", "testsrc2=size=640x360:rate=30", 1)
	tracks, pkts := demux(t, src)
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	cfg.LowFPSRung = false
	hub := newTestHub(cfg)
	pub, err := hub.Publish("nolowfps", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	publishAll(t, pub, pkts)
	feeds := waitRungs(t, st)
	waitIdle(t, st, pub)
	labels := rungLabels(t, "nolowfps")
	pub.Close()
	hub.Close()
	if got := rungNames(feeds); !slices.Equal(got, []string{"360p", "180p"}) {
		t.Errorf("rungs = %v, want [360p 180p] with low_fps_rung off", got)
	}
	for _, f := range feeds {
		if f.Info().LowFPSOf != "" {
			t.Errorf("rung %s is a capped variant with low_fps_rung off", f.Info().Name)
		}
	}
	if slices.Contains(labels, "180p-lowfps") {
		t.Errorf("metrics series for 180p-lowfps with low_fps_rung off (%v)", labels)
	}
	checkFreed(t)
}
