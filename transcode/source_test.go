package transcode

import (
	"bytes"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/stream"
)

// startSourceHub returns a hub whose pipelines are sent on the channel as
// they start, so a test can call SetSourceRung.
func startSourceHub(cfg Config) (*stream.Hub, <-chan *Pipeline) {
	log := testLogger()
	pipes := make(chan *Pipeline, 4)
	hub := stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
		p, err := Start(pub, cfg, log)
		if err == nil {
			pipes <- p
		}
		return p, err
	}, log)
	return hub, pipes
}

func rungNames(feeds []*stream.Feed) []string {
	var out []string
	for _, f := range feeds {
		out = append(out, f.Info().Name)
	}
	return out
}

// ofKind returns the packets of kind k.
func ofKind(pkts []*stream.Packet, k stream.Kind) []*stream.Packet {
	var out []*stream.Packet
	for _, p := range pkts {
		if p.Kind == k {
			out = append(out, p)
		}
	}
	return out
}

// sameTail checks that got is want from got's first packet on, unchanged.
func sameTail(t *testing.T, what string, got, want []*stream.Packet) {
	t.Helper()
	if len(got) == 0 {
		t.Fatalf("%s: no packets", what)
	}
	i := slices.IndexFunc(want, func(p *stream.Packet) bool { return p.PTS == got[0].PTS })
	if i < 0 || len(want)-i != len(got) {
		t.Fatalf("%s: %d packets from PTS %v, input has %d from index %d", what, len(got), got[0].PTS, len(want)-i, i)
	}
	for j, p := range got {
		w := want[i+j]
		if p.PTS != w.PTS || p.DTS != w.DTS || p.Keyframe != w.Keyframe || !bytes.Equal(p.Data, w.Data) {
			t.Fatalf("%s: packet %d differs from the input (PTS %v/%v, key %v/%v, %d/%d bytes)",
				what, j, p.PTS, w.PTS, p.Keyframe, w.Keyframe, len(p.Data), len(w.Data))
		}
	}
}

// waitTop waits for the ladder's top rung to be called name.
func waitTop(t *testing.T, st *stream.Stream, name string) *stream.Feed {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if r := st.Rungs(); len(r) > 0 && r[0].Info().Name == name {
			return r[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("top rung never became %q (rungs %v)", name, rungNames(st.Rungs()))
	return nil
}

func waitGone(t *testing.T, f *stream.Feed, what string) {
	t.Helper()
	select {
	case <-f.Gone():
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: feed %q never retired", what, f.Info().Name)
	}
}

func TestSourceRungAndOpusPassthrough(t *testing.T) {
	defer goleak.VerifyNone(t)
	src := makeInput(t, "in.mkv",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline", "-g", "30",
		"-c:a", "libopus", "-b:a", "64k")
	tracks, pkts := demux(t, src)
	if at := tracks[1]; at.Codec != stream.CodecOpus {
		t.Fatalf("audio track %+v, want opus", at)
	}
	video, audio := ofKind(pkts, stream.KindVideo), ofKind(pkts, stream.KindAudio)
	first := slices.IndexFunc(pkts, func(p *stream.Packet) bool { return p.Kind == stream.KindVideo })
	if !pkts[first].Keyframe {
		t.Fatal("input does not start with a keyframe")
	}

	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub, pipes := startSourceHub(cfg)
	pub, err := hub.Publish("src", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	pl := <-pipes
	var asked atomic.Int32
	pub.SetKeyframeRequester(func() { asked.Add(1) })
	st := pub.Stream()

	// The ladder comes with the first keyframe.
	publishAll(t, pub, pkts[:first+1])
	feeds := waitRungs(t, st)
	if got := rungNames(feeds); !slices.Equal(got, []string{"source", "360p", "180p", "180p-lowfps"}) {
		t.Fatalf("rungs = %v, want [source 360p 180p 180p-lowfps]", got)
	}
	want := stream.FeedInfo{Name: "source", Kind: stream.KindVideo, Codec: stream.CodecH264, Width: 640, Height: 360, FPS: 30}
	if got := feeds[0].Info(); got != want {
		t.Errorf("source rung %+v, want %+v", got, want)
	}
	srcFeed := feeds[0]
	srcR := srcFeed.Subscribe(4096)
	if asked.Load() != 1 {
		t.Errorf("subscribing to the source asked the publisher for %d keyframes, want 1", asked.Load())
	}
	audioR := st.Audio().Subscribe(4096)
	r360 := feeds[1].Subscribe(4096) // a rung nobody watches is paused
	defer r360.Close()
	afterSplit := ofKind(pkts[first+1:], stream.KindAudio)

	publishAll(t, pub, pkts[first+1:])
	waitIdle(t, st, pub)

	// The source feed got every video packet, unchanged.
	n, size := srcFeed.Stats()
	var wantSize uint64
	for _, p := range video {
		wantSize += uint64(len(p.Data))
	}
	if n != uint64(len(video)) || size != wantSize {
		t.Errorf("source feed: %d packets, %d bytes; want %d, %d", n, size, len(video), wantSize)
	}
	srcOut := drain(srcR)
	if !srcOut[0].Keyframe {
		t.Error("source reader did not start at a keyframe")
	}
	sameTail(t, "source", srcOut, video)
	if p, _ := feeds[1].Stats(); p < 80 {
		t.Errorf("360p has %d packets beside the source rung, want about 90", p)
	}

	// Opus passes through unchanged.
	sameTail(t, "opus", drain(audioR), audio)
	if got := len(afterSplit); got < 100 {
		t.Errorf("only %d Opus packets after the split", got)
	}

	// Keyframe requests reach the publisher, limited.
	time.Sleep(cfg.KeyframeMinInterval)
	before := asked.Load()
	srcFeed.RequestKeyframe()
	srcFeed.RequestKeyframe()
	if got := asked.Load() - before; got != 1 {
		t.Errorf("two requests in a row reached the publisher %d times, want 1", got)
	}

	// Off: the source feed retires and 360p is on top.
	pl.SetSourceRung(false)
	waitGone(t, srcFeed, "SetSourceRung(false)")
	if got := rungNames(st.Rungs()); !slices.Equal(got, []string{"360p", "180p", "180p-lowfps"}) {
		t.Fatalf("rungs after SetSourceRung(false) = %v, want [360p 180p 180p-lowfps]", got)
	}
	if !slices.Contains(st.Rungs(), feeds[1]) {
		t.Error("360p feed was replaced; its viewers would have been moved")
	}
	pl.SetSourceRung(false) // no change
	pl.SetSourceRung(true)
	newSrc := waitTop(t, st, "source")
	if newSrc == srcFeed {
		t.Fatal("source feed came back as the retired one")
	}
	newR := newSrc.Subscribe(4096)

	// More source: it reaches only the new source feed, from a keyframe.
	shift := 3100 * time.Millisecond
	var more []*stream.Packet
	for _, p := range video[:45] {
		cp := p.Clone()
		cp.PTS += shift
		cp.DTS += shift
		more = append(more, cp)
	}
	publishAll(t, pub, more)
	waitIdle(t, st, pub)
	if n2, _ := srcFeed.Stats(); n2 != n {
		t.Errorf("retired source feed got %d more packets", n2-n)
	}
	got := drain(newR)
	if len(got) == 0 || !got[0].Keyframe {
		t.Fatalf("new source feed: %d packets, want some from a keyframe", len(got))
	}
	sameTail(t, "source after SetSourceRung(true)", got, more)

	pub.Close()
	hub.Close()
	checkFreed(t)
}

func TestSourceRungIneligible(t *testing.T) {
	defer goleak.VerifyNone(t)
	src := makeInput(t, "in.flv",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
		"-t", "1", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-bf", "2", "-g", "30")
	tracks, pkts := demux(t, src)
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub := newTestHub(cfg)
	pub, err := hub.Publish("bframes", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	publishAll(t, pub, pkts)
	feeds := waitRungs(t, pub.Stream())
	if got := rungNames(feeds); !slices.Equal(got, []string{"180p", "180p-lowfps"}) {
		t.Errorf("rungs = %v, want [180p 180p-lowfps]: a source with B-frames is no rung", got)
	}
	pub.Close()
	hub.Close()
	checkFreed(t)
}

// TestSourceRungTurnsIneligible switches the publisher's encoder from
// baseline to High with B-frames mid-stream.
func TestSourceRungTurnsIneligible(t *testing.T) {
	defer goleak.VerifyNone(t)
	base := makeInput(t, "base.flv",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline", "-g", "30")
	high := makeInput(t, "high.flv",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
		"-t", "1", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-bf", "2", "-g", "30")
	tracks, pkts := demux(t, base)
	_, later := demux(t, high)
	for _, p := range later {
		cp := p.Clone()
		cp.PTS += 1100 * time.Millisecond
		cp.DTS += 1100 * time.Millisecond
		pkts = append(pkts, cp)
	}
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	hub := newTestHub(cfg)
	pub, err := hub.Publish("switch", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	publishAll(t, pub, pkts[:1])
	st := pub.Stream()
	feeds := waitRungs(t, st)
	if got := rungNames(feeds); !slices.Equal(got, []string{"source", "180p", "180p-lowfps"}) {
		t.Fatalf("rungs = %v, want [source 180p 180p-lowfps]", got)
	}
	publishAll(t, pub, pkts[1:])
	waitGone(t, feeds[0], "switch to B-frames")
	waitIdle(t, st, pub)
	if got := rungNames(st.Rungs()); !slices.Equal(got, []string{"180p", "180p-lowfps"}) {
		t.Errorf("rungs after the switch = %v, want [180p 180p-lowfps]", got)
	}
	if p, _ := feeds[0].Stats(); p < 25 || p > 35 {
		t.Errorf("source feed carried %d packets, want the 30 of the baseline second", p)
	}
	pub.Close()
	hub.Close()
	checkFreed(t)
}
