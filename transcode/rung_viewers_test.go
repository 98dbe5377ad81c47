package transcode

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

func TestRetuneTarget(t *testing.T) {
	for _, c := range []struct {
		bitrate, minBps, n int
		want               int
	}{
		{800_000, 0, 0, 800_000},             // nobody reported a link
		{800_000, 300_000, 1, 270_000},       // 90 % of the lowest
		{800_000, 100_000, 2, 240_000},       // floor: 30 % of the rung
		{800_000, 5_000_000, 3, 800_000},     // never above the rung
		{800_000, 880_000, 1, 792_000},       // just under
		{2_500_000, 1_000_000, 1, 900_000},   // 720p on a 1 Mb/s link
		{250_000, 50_000, 1, 75_000},         // 180p floor
		{250_000, -1, 1, 250_000},            // nonsense demand
		{2_500_000, 2_800_000, 4, 2_500_000}, // ample
	} {
		if got := retuneTarget(c.bitrate, c.minBps, c.n, 0.3); got != c.want {
			t.Errorf("retuneTarget(%d, %d, %d) = %d, want %d", c.bitrate, c.minBps, c.n, got, c.want)
		}
	}
	for _, c := range []struct {
		cur, target, bitrate int
		want                 bool
	}{
		{800_000, 800_000, 800_000, false},
		{800_000, 750_000, 800_000, false}, // 6 %: not worth it
		{800_000, 700_000, 800_000, true},  // 12.5 %
		{270_000, 800_000, 800_000, true},
		{770_000, 800_000, 800_000, true}, // back to the rung's own bitrate
		{270_000, 290_000, 800_000, false},
		{270_000, 240_000, 800_000, true},
	} {
		if got := needsRetune(c.cur, c.target, c.bitrate); got != c.want {
			t.Errorf("needsRetune(%d, %d, %d) = %v, want %v", c.cur, c.target, c.bitrate, got, c.want)
		}
	}
}

// TestQuorumDemand: a rung's encoder follows its one viewer, but a shared
// rung follows only a quorum of viewers under automatic control (a manual
// viewer reports no demand), never the slowest alone.
func TestQuorumDemand(t *testing.T) {
	for _, c := range []struct {
		name            string
		demands         []int
		readers, quorum int
		wantBps, wantN  int
	}{
		{"nobody reports", nil, 3, 2, 0, 0},
		{"one auto viewer alone", []int{300_000}, 1, 2, 300_000, 1},
		{"one manual viewer alone", nil, 1, 2, 0, 0},
		{"manual viewer beside a slow auto viewer", []int{300_000}, 2, 2, 0, 0},
		{"two auto viewers: the faster of the two slowest", []int{900_000, 300_000}, 2, 2, 900_000, 2},
		{"one slow among many", []int{2_000_000, 300_000, 1_800_000, 2_200_000}, 5, 2, 1_800_000, 4},
		{"two slow among many", []int{2_000_000, 300_000, 400_000, 2_200_000}, 4, 2, 400_000, 4},
		{"quorum of one: the slowest auto viewer", []int{900_000, 300_000}, 3, 1, 300_000, 2},
		{"quorum above the viewers", []int{900_000, 300_000}, 2, 3, 0, 0},
	} {
		bps, n := quorumDemand(slices.Clone(c.demands), c.readers, c.quorum)
		if bps != c.wantBps || n != c.wantN {
			t.Errorf("%s: quorumDemand(%v, %d, %d) = %d, %d; want %d, %d", c.name, c.demands, c.readers, c.quorum, bps, n, c.wantBps, c.wantN)
		}
	}
}

func TestConfigViewerKeys(t *testing.T) {
	c := DefaultConfig()
	if !c.PauseIdleRungs || c.MinBitrateRatio != 0.3 {
		t.Errorf("defaults: pause_idle_rungs %v, min_bitrate_ratio %v; want true, 0.3", c.PauseIdleRungs, c.MinBitrateRatio)
	}
	for _, r := range []float64{0, -0.1, 1.5} {
		c.MinBitrateRatio = r
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), "min_bitrate_ratio") {
			t.Errorf("min_bitrate_ratio %v: %v, want a min_bitrate_ratio error", r, err)
		}
	}
	c.MinBitrateRatio = 1
	if err := c.Validate(); err != nil {
		t.Errorf("min_bitrate_ratio 1: %v", err)
	}
	if d := DefaultConfig().MinViewersToRetune; d != 2 {
		t.Errorf("default min_viewers_to_retune %d, want 2", d)
	}
	for _, n := range []int{0, -1, 10_001} {
		c.MinViewersToRetune = n
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), "min_viewers_to_retune") {
			t.Errorf("min_viewers_to_retune %d: %v, want a min_viewers_to_retune error", n, err)
		}
	}
}

// TestPauseIdleRungs watches only 180p: 360p is not encoded until a reader
// arrives, then starts at once with an IDR and keeps the scheduled
// keyframes of the other rung.
func TestPauseIdleRungs(t *testing.T) {
	defer goleak.VerifyNone(t)
	src := makeInput(t, "in.flv",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30")
	tracks, pkts := demux(t, src)
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub := newTestHub(cfg)
	pub, err := hub.Publish("pause", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	feeds := waitRungs(t, st)
	if got := rungNames(feeds); !slices.Equal(got, []string{"360p", "180p", "180p-lowfps"}) {
		t.Fatalf("rungs = %v, want [360p 180p 180p-lowfps]", got)
	}
	r180 := feeds[1].Subscribe(4096)
	split := slices.IndexFunc(pkts, func(p *stream.Packet) bool { return p.Kind == stream.KindVideo && p.DTS >= 1500*time.Millisecond })
	publishAll(t, pub, pkts[first:split])
	waitIdle(t, st, pub)

	if p, _ := feeds[0].Stats(); p != 0 {
		t.Errorf("360p, watched by nobody, wrote %d packets; want none", p)
	}
	if p, _ := feeds[1].Stats(); p < 15 {
		t.Errorf("180p, watched, wrote %d packets; want about 22", p)
	}
	if g := gaugeValue(t, metrics.RungPaused, "pause", "360p"); g != 1 {
		t.Errorf("mediad_rung_paused{360p} = %v, want 1", g)
	}
	if g := gaugeValue(t, metrics.RungPaused, "pause", "180p"); g != 0 {
		t.Errorf("mediad_rung_paused{180p} = %v, want 0", g)
	}
	before := drain(r180)
	if len(before) == 0 {
		t.Fatal("180p reader got nothing")
	}
	last := before[len(before)-1].PTS

	r360 := feeds[0].Subscribe(4096)
	publishAll(t, pub, pkts[split:])
	waitIdle(t, st, pub)
	o360, o180 := drain(r360), append(before, drain(r180)...)
	paused := counterValue(t, metrics.RungPausedSeconds, "pause", "360p")
	if g := gaugeValue(t, metrics.RungPaused, "pause", "360p"); g != 0 {
		t.Errorf("mediad_rung_paused{360p} = %v after a reader came, want 0", g)
	}
	pub.Close()
	hub.Close()

	if len(o360) == 0 || !o360[0].Keyframe {
		t.Fatalf("360p after a reader came: %d packets, want some from a keyframe", len(o360))
	}
	if d := o360[0].PTS - last; d > 500*time.Millisecond {
		t.Errorf("360p resumed %v of media after the last frame seen, want within 500ms", d)
	}
	k360, k180 := keyframePTS(o360), keyframePTS(o180)
	if len(k360) < 2 {
		t.Errorf("360p keyframes %v, want the resume IDR and the scheduled one at 2s", k360)
	}
	for _, k := range k360[1:] {
		if !slices.Contains(k180, k) {
			t.Errorf("360p keyframe at %v is not on 180p (%v): scheduled keyframes drifted", k, k180)
		}
	}
	if n, w, h, errs := decodeVideo(t, o360); errs > 0 || n < 60 || w != 640 || h != 360 {
		t.Errorf("360p after resume: %d frames %dx%d, %d errors", n, w, h, errs)
	}
	if paused <= 0 {
		t.Errorf("mediad_rung_paused_seconds_total{360p} = %v, want > 0", paused)
	}
	checkNoSeries(t, "pause")
	checkFreed(t)
}

// TestRetuneToViewers publishes in real time (the retune runs on the
// pipeline's one-second tick): a viewer of 360p whose link carries 300 kb/s
// brings its encoder down; beside a manual viewer it no longer does; two
// automatic viewers retune it to the faster of them; and the rung returns
// to 800 kb/s when nobody reports a link.
func TestRetuneToViewers(t *testing.T) {
	defer goleak.VerifyNone(t)
	// Noise keeps the encoder at its target whatever the target is.
	src := makeInput(t, "noisy.flv",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30,noise=alls=40:allf=t+u",
		"-t", "16", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30")
	tracks, pkts := demux(t, src)
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub := newTestHub(cfg)
	pub, err := hub.Publish("retune", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	feeds := waitRungs(t, st)
	if feeds[0].Info().Name != "360p" {
		t.Fatalf("rungs = %v, want 360p first", rungNames(feeds))
	}
	r := feeds[0].Subscribe(4096)
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- publishPaced(pub, pkts[first:], stop) }()
	defer func() {
		close(stop)
		if err := <-done; err != nil {
			t.Error(err)
		}
		pub.Close()
		hub.Close()
		checkNoSeries(t, "retune")
		checkFreed(t)
	}()
	target := func() float64 { return gaugeValue(t, metrics.RungTargetBitrate, "retune", "360p") }

	var out []*stream.Packet
	time.Sleep(1500 * time.Millisecond)
	if got := target(); got != 800_000 {
		t.Errorf("target with no demand = %v, want 800000", got)
	}
	r.SetDemand(300_000)
	if !waitUntil(3*time.Second, func() bool { return target() < 800_000 }) {
		t.Fatal("the encoder was not retuned within 3 s of the viewer's demand")
	}
	if got := target(); got != 270_000 {
		t.Errorf("target for a 300 kb/s viewer = %v, want 270000 (90 %%)", got)
	}
	out = append(out, drain(r)...)
	if len(out) == 0 {
		t.Fatal("360p reader got nothing")
	}
	cut := out[len(out)-1].PTS // every later packet was encoded after the retune
	if !waitUntil(8*time.Second, func() bool {
		out = append(out, drain(r)...)
		return out[len(out)-1].PTS >= cut+2100*time.Millisecond
	}) {
		t.Fatalf("360p stalled at %v", out[len(out)-1].PTS)
	}
	high := bitrate(out, out[0].PTS, cut)
	low := bitrate(out, cut, cut+2*time.Second)
	t.Logf("360p: %.0f kb/s before the retune, %.0f kb/s over the 2 s after it", high/1000, low/1000)
	if low > 480_000 {
		t.Errorf("360p at %.0f kb/s after a retune to 270 kb/s, want well below 800", low/1000)
	}

	// A second viewer that chose 360p by hand reports no demand: the rung
	// is shared now and one slow automatic viewer no longer lowers it (it
	// moves down the ladder instead).
	m := feeds[0].Subscribe(4096)
	defer m.Close()
	if !waitUntil(3*time.Second, func() bool { return target() == 800_000 }) {
		t.Errorf("target %v with a manual viewer beside one slow automatic viewer, want 800000", target())
	}
	// Two automatic viewers (the default quorum) still retune it, to the
	// faster of the two.
	m.SetDemand(500_000)
	if !waitUntil(3*time.Second, func() bool { return target() == 450_000 }) {
		t.Errorf("target %v for automatic viewers at 300 and 500 kb/s, want 450000", target())
	}
	m.Close()
	if !waitUntil(3*time.Second, func() bool { return target() == 270_000 }) {
		t.Errorf("target %v once the slow viewer is alone again, want 270000", target())
	}

	r.SetDemand(0)
	if !waitUntil(3*time.Second, func() bool { return target() == 800_000 }) {
		t.Errorf("target stayed %v after the demand went, want 800000", target())
	}
	if n := counterValue(t, metrics.RungRetunes, "retune", "360p"); n != 5 {
		t.Errorf("mediad_rung_retunes_total{360p} = %v, want 5", n)
	}
	if g := gaugeValue(t, metrics.RungViewers, "retune", "360p"); g != 1 {
		t.Errorf("mediad_rung_viewers{360p} = %v, want 1", g)
	}
}

// publishPaced writes pkts into pub at the pace of their DTS until they
// run out or stop closes.
func publishPaced(pub *stream.Publication, pkts []*stream.Packet, stop <-chan struct{}) error {
	if len(pkts) == 0 {
		return nil
	}
	start, t0 := time.Now(), pkts[0].DTS
	for _, p := range pkts {
		if d := p.DTS - t0 - time.Since(start); d > 0 {
			select {
			case <-stop:
				return nil
			case <-time.After(d):
			}
		}
		for len(pub.Packets()) > cap(pub.Packets())*3/4 {
			time.Sleep(2 * time.Millisecond)
		}
		if err := pub.WritePacket(p); err != nil {
			return err
		}
	}
	return nil
}

// bitrate returns the bits per second of the packets with PTS in [from, to).
func bitrate(pkts []*stream.Packet, from, to time.Duration) float64 {
	if to <= from {
		return 0
	}
	n := 0
	for _, p := range pkts {
		if p.PTS >= from && p.PTS < to {
			n += len(p.Data)
		}
	}
	return float64(n*8) / (to - from).Seconds()
}

// waitUntil polls ok every 20 ms for up to d.
func waitUntil(d time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if ok() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gaugeValue reads the H.264 encoder's series of a per-rung gauge.
func gaugeValue(t *testing.T, v *prometheus.GaugeVec, streamName, rung string) float64 {
	t.Helper()
	return codecGauge(t, v, streamName, rung, stream.CodecH264)
}

// codecGauge reads the series of a per-rung gauge for codec c's encoder.
func codecGauge(t *testing.T, v *prometheus.GaugeVec, streamName, rung string, c stream.Codec) float64 {
	t.Helper()
	var m dto.Metric
	if err := v.WithLabelValues(streamName, rung, string(c)).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// counterValue reads the H.264 encoder's series of a per-rung counter.
func counterValue(t *testing.T, v *prometheus.CounterVec, streamName, rung string) float64 {
	t.Helper()
	return codecCounter(t, v, streamName, rung, stream.CodecH264)
}

// codecCounter reads the series of a per-rung counter for codec c's encoder.
func codecCounter(t *testing.T, v *prometheus.CounterVec, streamName, rung string, c stream.Codec) float64 {
	t.Helper()
	var m dto.Metric
	if err := v.WithLabelValues(streamName, rung, string(c)).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// checkFreed fails t if an FFmpeg object outlived its owner.
func checkFreed(t *testing.T) {
	t.Helper()
	if n := LiveObjects(); n != 0 {
		t.Errorf("LiveObjects() = %d after Close, want 0", n)
	}
}

// checkNoSeries fails t if streamName's per-rung metric series outlived
// its pipeline.
func checkNoSeries(t *testing.T, streamName string) {
	t.Helper()
	if s := rungSeries(t, streamName); len(s) > 0 {
		t.Errorf("series left after Close: %v", s)
	}
}

// rungSeries lists the mediad_rung_* series left for streamName.
func rungSeries(t *testing.T, streamName string) []string {
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
			for _, l := range m.GetLabel() {
				if l.GetName() == "stream" && l.GetValue() == streamName {
					out = append(out, mf.GetName())
				}
			}
		}
	}
	return out
}
