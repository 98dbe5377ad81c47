package transcode

import (
	"os"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/stream"
)

func TestMain(m *testing.M) {
	astiav.SetLogLevel(astiav.LogLevelFatal)
	os.Exit(m.Run())
}

func TestDemo(t *testing.T) {
	defer goleak.VerifyNone(t)
	// Readers subscribe before the demo writes (stream.Feed.Subscribe races
	// with a concurrent Write): a first publisher installs the same ladder
	// the demo's pipeline will, and its feeds, readers included, are kept.
	cfg := DefaultConfig()
	log := testLogger()
	useReal := false
	hub := stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
		if useReal {
			return Start(pub, cfg, log)
		}
		pub.Stream().SetLadder([]stream.FeedInfo{
			{Name: "180p", Codec: stream.CodecH264, Width: 320, Height: 180, FPS: 15, Bitrate: 250_000},
			{Name: "180p-lowfps", Codec: stream.CodecH264, Width: 320, Height: 180, FPS: 7, Bitrate: 125_000, LowFPSOf: "180p"},
		}, stream.FeedInfo{Name: "audio", Codec: stream.CodecOpus})
		return nopPipeline{}, nil
	}, log)
	pre, err := hub.Publish(DemoStreamName, "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, func() {})
	if err != nil {
		t.Fatal(err)
	}
	pre.Close()
	st, _ := hub.Lookup(DemoStreamName)
	feeds := st.Rungs()
	v := feeds[0].Subscribe(4096)
	a := st.Audio().Subscribe(4096)

	useReal = true
	d, err := StartDemo(hub, DemoConfig{Width: 320, Height: 180, FPS: 30}, log)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if got := st.Rungs(); len(got) != 2 || got[0] != feeds[0] || got[1] != feeds[1] || st.Audio() != a.Feed() {
		t.Fatalf("demo ladder %v: want the 180p and 180p-lowfps feeds kept", rungNames(got))
	}
	d.Close()
	d.Close() // idempotent
	hub.Close()
	vp, ap := drain(v), drain(a)
	n, w, h, errs := decodeVideo(t, vp)
	if n < 10 || w != 320 || h != 180 || errs > 0 {
		t.Errorf("demo video: %d frames %dx%d, %d errors", n, w, h, errs)
	}
	if len(ap) < 40 {
		t.Errorf("demo audio: %d Opus packets in 1.5 s, want about 75", len(ap))
	}
	for _, p := range ap {
		if p.Kind != stream.KindAudio || p.Duration != 20*time.Millisecond {
			t.Fatalf("bad audio packet %+v", p)
		}
	}
	checkFreed(t)
}

type nopPipeline struct{}

func (nopPipeline) Close() error { return nil }
