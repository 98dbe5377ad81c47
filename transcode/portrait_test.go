package transcode

import (
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/stream"
)

// TestPortraitPipeline: a 9:16 phone source gets portrait rungs, named as
// for landscape ("360p" is 360x640), with frames that decode at that size;
// no rung is wider than the source.
func TestPortraitPipeline(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := demux(t, testClip(t, "portrait.mkv", "testsrc2=size=360x640:rate=30", 1))
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub := newTestHub(cfg)
	pub, err := hub.Publish("portrait", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	feeds := waitRungs(t, st)
	if got := rungNames(feeds); !slices.Equal(got, []string{"360p", "180p", "180p-lowfps"}) {
		t.Fatalf("rungs = %v, want [360p 180p 180p-lowfps]", got)
	}
	want := map[string][2]int{"360p": {360, 640}, "180p": {180, 320}, "180p-lowfps": {180, 320}}
	for _, f := range feeds {
		if in := f.Info(); in.Width != want[in.Name][0] || in.Height != want[in.Name][1] {
			t.Errorf("rung %s is %dx%d, want %dx%d", in.Name, in.Width, in.Height, want[in.Name][0], want[in.Name][1])
		}
	}
	r := feeds[0].Subscribe(4096)
	publishAll(t, pub, pkts[first:])
	waitIdle(t, st, pub)
	out := drain(r)
	pub.Close()
	hub.Close()
	if n, w, h, errs := decodeVideo(t, ofKind(out, stream.KindVideo)); n < 20 || w != 360 || h != 640 || errs > 0 {
		t.Errorf("360p: %d frames of %dx%d, %d errors; want about 30 of 360x640", n, w, h, errs)
	}
	checkFreed(t)
}
