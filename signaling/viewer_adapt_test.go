package signaling

import (
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/mutstream/mutstream/adapt"
	"github.com/mutstream/mutstream/stream"
)

// TestSourceRungRate: the source rung's stand-in bitrate is its measured
// rate once known, and 20 % over the top transcoded rung before.
func TestSourceRungRate(t *testing.T) {
	src := stream.NewFeed(stream.FeedInfo{Name: "source", Width: 640, Height: 360})
	feeds := []*stream.Feed{src, stream.NewFeed(stream.FeedInfo{Name: "360p", Width: 640, Height: 360, Bitrate: 800_000})}
	if r := adaptRungs(feeds, 0); r[0].Bitrate != 960_000 || r[1].Bitrate != 800_000 {
		t.Fatalf("stand-in before a measure: %+v", r)
	}
	var rate sourceRate
	now := time.Now()
	got := 0
	for i := 0; i < 6; i++ {
		got = rate.sample(feeds, now)
		// 2 Mb/s: 250 kB a second.
		for j := 0; j < 250; j++ {
			src.Write(&stream.Packet{Data: make([]byte, 1000)})
		}
		now = now.Add(time.Second)
	}
	if got < 1_900_000 || got > 2_100_000 {
		t.Fatalf("measured %d b/s, want about 2 Mb/s", got)
	}
	if r := adaptRungs(feeds, got); r[0].Bitrate != got {
		t.Fatalf("source rung at %d b/s, want the measured rate", r[0].Bitrate)
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
	rungs := adaptRungs(st.Rungs(), 0)
	if len(rungs) != 2 || rungs[1].Name != "lo" {
		t.Fatalf("controller ladder %+v, want hi and lo only", rungs)
	}
	a := &viewerAdapt{ctrl: adapt.New(adapt.Config{}, rungs, time.Now())}
	for _, tc := range []struct {
		d    adapt.Decision
		want string
	}{
		{adapt.Decision{Rung: "hi"}, "hi"},
		{adapt.Decision{Rung: "lo"}, "lo"},
		{adapt.Decision{Rung: "lo", FPSCap: 7}, "lo-lowfps"},
		{adapt.Decision{Rung: "lo", AudioOnly: true}, "lo"},
	} {
		if f := a.feedFor(st, tc.d); f == nil || f.Info().Name != tc.want {
			t.Errorf("feed for %+v = %v, want %s", tc.d, f, tc.want)
		}
	}
	low, _ := st.Rung("lo-lowfps")
	if err := a.setManual(low.Info()); err != nil {
		t.Fatal(err)
	}
	a.manual = true
	if f := a.feedFor(st, adapt.Decision{Rung: "lo", Reason: adapt.ReasonManual}); f != low {
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
