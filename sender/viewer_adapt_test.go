package sender

import (
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"

	"github.com/mutstream/mutstream/adapt"
	"github.com/mutstream/mutstream/stream"
)

// TestSourceRungRate: the source rung's stand-in bitrate is its measured
// rate once known, and 20 % over the top transcoded rung before; the
// controller's ladder follows it when it moves by a quarter.
func TestSourceRungRate(t *testing.T) {
	src := stream.NewFeed(stream.FeedInfo{Name: "source", Kind: stream.KindVideo, Width: 640, Height: 360})
	feeds := []*stream.Feed{src, stream.NewFeed(stream.FeedInfo{Name: "360p", Width: 640, Height: 360, Bitrate: 800_000})}
	before := adaptRungs(feeds)
	if before[0].Bitrate != 960_000 || before[1].Bitrate != 800_000 {
		t.Fatalf("stand-in before a measure: %+v", before)
	}
	// 2 Mb/s for 3.2 s.
	for i := 0; i < 65; i++ {
		src.Write(&stream.Packet{Kind: stream.KindVideo, Data: make([]byte, 12_500)})
		time.Sleep(50 * time.Millisecond)
	}
	after := adaptRungs(feeds)
	if after[0].Bitrate < 1_500_000 || after[0].Bitrate > 2_500_000 {
		t.Fatalf("source rung at %d b/s, want its measured 2 Mb/s", after[0].Bitrate)
	}
	if !ladderMoved(before, after) {
		t.Error("a source rate twice the stand-in did not move the ladder")
	}
	same := append([]adapt.Rung(nil), after...)
	same[0].Bitrate = after[0].Bitrate * 11 / 10
	if ladderMoved(after, same) {
		t.Error("a 10 % change moved the ladder")
	}
}

type nopPipeline struct{}

func (nopPipeline) Close() error { return nil }

// TestFeedForFrameRateCap: a decision that caps the frame rate is carried
// by the lowest rung's capped variant, which the controller never sees as
// a rung; a manual choice of that variant stays on it.
func TestFeedForFrameRateCap(t *testing.T) {
	hub := stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
		pub.Stream().SetLadder([]stream.FeedInfo{
			{Name: "hi", Codec: stream.CodecH264, Width: 640, Height: 360, FPS: 30, Bitrate: 800_000},
			{Name: "lo", Codec: stream.CodecH264, Width: 320, Height: 180, FPS: 15, Bitrate: 250_000},
			{Name: "lo-lowfps", Codec: stream.CodecH264, Width: 320, Height: 180, FPS: 7, Bitrate: 125_000, LowFPSOf: "lo"},
		}, stream.FeedInfo{Name: "audio", Codec: stream.CodecOpus})
		return nopPipeline{}, nil
	}, nil)
	defer hub.Close()
	pub, err := hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	rungs := adaptRungs(st.Rungs())
	if len(rungs) != 2 || rungs[1].Name != "lo" {
		t.Fatalf("controller ladder %+v, want hi and lo only", rungs)
	}
	a := &viewerAdapt{ctrl: adapt.New(adapt.Config{}, rungs, time.Now()), sc: DefaultConfig()}
	for _, tc := range []struct {
		d    adapt.Decision
		want string
	}{
		{adapt.Decision{Rung: "hi"}, "hi"},
		{adapt.Decision{Rung: "lo"}, "lo"},
		{adapt.Decision{Rung: "lo", FPSCap: 7}, "lo-lowfps"},
		{adapt.Decision{Rung: "lo", AudioOnly: true}, "lo"},
	} {
		if f := a.feedFor(st, stream.CodecH264, tc.d); f == nil || f.Info().Name != tc.want {
			t.Errorf("feed for %+v = %v, want %s", tc.d, f, tc.want)
		}
	}
	low, _ := st.Rung("lo-lowfps")
	if err := a.setManual(low.Info()); err != nil {
		t.Fatal(err)
	}
	a.manual = true
	if f := a.feedFor(st, stream.CodecH264, adapt.Decision{Rung: "lo", Reason: adapt.ReasonManual}); f != low {
		t.Errorf("manual capped variant: got %v", f)
	}
	hi, _ := st.Rung("hi")
	if err := a.setManual(hi.Info()); err != nil || a.manualFeed != "" {
		t.Errorf("manual hi: %v, manual feed %q", err, a.manualFeed)
	}
}

// TestNACKsCountOnce: a NACK repeated for the same packets is not more
// loss.
func TestNACKsCountOnce(t *testing.T) {
	var l linkStats
	nack := &rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: 100, LostPackets: 0b101}}} // 100, 101, 103
	l.observe(nack, time.Now())
	l.observe(nack, time.Now())
	if n := l.nacks.Load(); n != 3 {
		t.Fatalf("%d NACKed packets after the same NACK twice, want 3", n)
	}
	l.observe(&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: 103, LostPackets: 0b1}}}, time.Now()) // 103 again, 104
	if n := l.nacks.Load(); n != 4 {
		t.Fatalf("%d NACKed packets, want 4", n)
	}
}

// fixedEstimate is a bandwidth estimator that always says the same.
type fixedEstimate struct {
	cc.BandwidthEstimator
	bps int
}

func (f fixedEstimate) GetTargetBitrate() int    { return f.bps }
func (f fixedEstimate) GetStats() map[string]any { return nil }

// TestVideoHoldDrains: a held switch waits for the predicted queue to
// fall under the resume line; without a prediction, for the feedback's
// queue to pass its peak (it lags) and fall under resumeLagged.
func TestVideoHoldDrains(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	resume := DefaultConfig().Hold.Resume
	var h videoHold
	for _, q := range []int{120, 300, 500, 700, 650} {
		if h.drained(ms(q), 0, false, resume) {
			t.Fatalf("drained at %d ms while the queue grew or stood deep", q)
		}
	}
	if !h.drained(ms(350), 0, false, resume) {
		t.Fatal("not drained at 350 ms, past a 700 ms peak")
	}
	var rising videoHold
	if rising.drained(ms(100), 0, false, resume) {
		t.Fatal("drained on the first, rising reading")
	}
	var predicted videoHold
	if predicted.drained(ms(600), ms(200), true, resume) {
		t.Fatal("drained with 200 ms predicted")
	}
	if !predicted.drained(ms(650), ms(100), true, resume) {
		t.Fatal("not drained with 100 ms predicted, though the lagging feedback still rises")
	}
}

// TestFallSetsEstimate: when the link meter sees the link fall, the
// controller gets the rate packets arrive at now, not the rung's need
// (which would keep a clean link on its rung) nor the delivered rate of
// the latest 200 ms, and steps straight to the rung that rate carries.
func TestFallSetsEstimate(t *testing.T) {
	l := newMeterLink(t, 5_000_000)
	l.lag = true
	l.run(2*time.Second, 3636*time.Microsecond, 1000) // 2.2 Mb/s
	l.rate = 600_000
	rungs := []adapt.Rung{{Name: "hi", Bitrate: 2_200_000}, {Name: "mid", Bitrate: 800_000}, {Name: "lo", Bitrate: 250_000}}
	a := &viewerAdapt{est: fixedEstimate{bps: 3_000_000}, meter: l.m, stats: &linkStats{}, sc: DefaultConfig()}
	a.sc.StartRung = "hi"
	a.start(rungs, l.now)
	a.setRung("hi", 2_200_000) // the top rung: no probe
	a.update(l.now, "cam", "v1")
	fell := false
	for i := 0; i < 40 && !fell; i++ { // up to 160 ms after the fall
		l.run(4*time.Millisecond, 3636*time.Microsecond, 1000)
		a.packets, a.bytes = 1, 1000
		a.update(l.now, "cam", "v1")
		fell = a.shape.Last().Fell
	}
	if !fell {
		t.Fatal("the fall to 600 kb/s never reached the controller")
	}
	if e := a.shape.Last().Estimate; e > 800_000 {
		t.Errorf("estimate %d b/s on the fall, want the arrival rate of about 600 kb/s", e)
	}
	if a.last.Rung != "lo" {
		t.Errorf("stepped to %s (%s) on the fall, want lo, the rung 600 kb/s carries", a.last.Rung, a.last.Reason)
	}
}
