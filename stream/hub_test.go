package stream

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

type nopPipeline struct{ closed *atomic.Int32 }

func (p nopPipeline) Close() error { p.closed.Add(1); return nil }

func newTestHub(closed *atomic.Int32) *Hub {
	return NewHub(func(pub *Publication) (Pipeline, error) {
		pub.Stream().SetLadder([]FeedInfo{{Name: "hi", Width: 640}, {Name: "lo", Width: 320}}, FeedInfo{Name: "audio"})
		return nopPipeline{closed}, nil
	}, nil)
}

var videoTrack = []Track{{Kind: KindVideo, Codec: CodecH264}}

func TestHubLifecycle(t *testing.T) {
	var closed atomic.Int32
	h := newTestHub(&closed)
	if _, err := h.Lookup("cam"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown stream: %v", err)
	}
	if _, err := h.Publish("cam", "test", []Track{{Kind: KindAudio}}, nil); !errors.Is(err, ErrNoVideo) {
		t.Fatalf("audio-only publish: %v", err)
	}
	var kicked atomic.Int32
	pub, err := h.Publish("cam", "test", videoTrack, func() { kicked.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	st, err := h.Lookup("cam")
	if err != nil || !st.Live() {
		t.Fatalf("lookup live: %v", err)
	}
	hi, _ := st.Rung("")
	if hi.Info().Name != "hi" {
		t.Fatalf("top rung %q", hi.Info().Name)
	}
	if _, err := st.Rung("4k"); !errors.Is(err, ErrNoSuchRung) {
		t.Fatalf("unknown rung: %v", err)
	}
	r := hi.Subscribe(4)
	defer r.Close()

	// Takeover: the old publisher is kicked and stopped, the feeds stay.
	pub2, err := h.Publish("cam", "test", videoTrack, nil)
	if err != nil {
		t.Fatal(err)
	}
	if kicked.Load() != 1 || closed.Load() != 1 {
		t.Fatalf("takeover: kicked %d, pipelines closed %d", kicked.Load(), closed.Load())
	}
	if err := pub.WritePacket(vpkt(0, true)); !errors.Is(err, ErrClosed) {
		t.Fatalf("write to a replaced publication: %v", err)
	}
	pub.Close() // the kicked connection closing late must not end the new one
	if !st.Live() {
		t.Fatal("stream went offline when the replaced publisher closed")
	}
	hi2, _ := st.Rung("hi")
	if hi2 != hi {
		t.Fatal("takeover with the same ladder replaced the feed")
	}
	select {
	case <-hi.Gone():
		t.Fatal("feed retired on takeover")
	default:
	}
	pub2.Close()
	if _, err := h.Lookup("cam"); !errors.Is(err, ErrNotLive) {
		t.Fatalf("after close: %v", err)
	}
	if in := st.Info(); in.Live || len(in.Rungs) != 2 {
		t.Fatalf("offline info %+v", in)
	}
	h.Close()
}

func TestPublicationDropsUntilKeyframe(t *testing.T) {
	var closed atomic.Int32
	h := newTestHub(&closed)
	defer h.Close()
	pub, err := h.Publish("cam", "test", videoTrack, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = pub.WritePacket(vpkt(0, false))
	if len(pub.Packets()) != 0 {
		t.Fatal("delta frame before the first keyframe was queued")
	}
	if !pub.FirstKeyframe().IsZero() {
		t.Fatal("first keyframe time set too early")
	}
	_ = pub.WritePacket(vpkt(1, true))
	_ = pub.WritePacket(&Packet{Kind: KindAudio})
	if len(pub.Packets()) != 2 || pub.FirstKeyframe().IsZero() {
		t.Fatalf("queued %d", len(pub.Packets()))
	}
	for i := 0; i < cap(pub.packets)+10; i++ { // overflow: never blocks
		_ = pub.WritePacket(vpkt(i+2, false))
	}
}

func TestSetLadderRetiresChangedRungs(t *testing.T) {
	st := newStream("x", nil, time.Second)
	rungs, audio := st.SetLadder([]FeedInfo{{Name: "720p", Width: 1280}, {Name: "360p", Width: 640}}, FeedInfo{Name: "audio"})
	rungs2, audio2 := st.SetLadder([]FeedInfo{{Name: "360p", Width: 640}}, FeedInfo{Name: "audio"})
	if rungs2[0] != rungs[1] || audio2 != audio {
		t.Fatal("unchanged feeds were replaced")
	}
	select {
	case <-rungs[0].Gone():
	default:
		t.Fatal("dropped rung not retired")
	}
	if st.Viewers() != 0 {
		t.Fatal("viewers")
	}
	done := st.AddViewer()
	done()
	done()
	if st.Viewers() != 0 {
		t.Fatal("viewer counted out twice")
	}
}

func TestStreamEndsAfterGraceUnlessResumed(t *testing.T) {
	var closed atomic.Int32
	h := newTestHub(&closed)
	h.SetGrace(100 * time.Millisecond)
	defer h.Close()
	pub, _ := h.Publish("cam", "test", videoTrack, nil)
	st, _ := h.Lookup("cam")
	ended := st.Ended()
	pub.Close()
	time.Sleep(30 * time.Millisecond)
	if _, err := h.Publish("cam", "test", videoTrack, nil); err != nil { // back within grace
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	select {
	case <-ended:
		t.Fatal("stream ended although its publisher came back within grace")
	default:
	}
	st.Publication().Close()
	select {
	case <-ended:
	case <-time.After(2 * time.Second):
		t.Fatal("stream did not end after grace")
	}
	if _, err := h.Publish("cam", "test", videoTrack, nil); err != nil {
		t.Fatal(err)
	}
	// The ended stream may have been freed already: the new episode is
	// the stream the hub knows now.
	st, err := h.Lookup("cam")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-st.Ended():
		t.Fatal("a new episode starts ended")
	default:
	}
}

func TestStreamEvents(t *testing.T) {
	st := newStream("x", nil, time.Second)
	a, cancelA := st.SubscribeEvents(2)
	b, cancelB := st.SubscribeEvents(1)
	st.EmitEvent([]byte(`{"type":"one"}`))
	st.EmitEvent([]byte(`{"type":"two"}`)) // b is full: dropped for b only
	if len(a) != 2 || len(b) != 1 {
		t.Fatalf("queued a=%d b=%d", len(a), len(b))
	}
	cancelB()
	cancelB()
	<-b
	st.EmitEvent([]byte(`{"type":"three"}`))
	if len(b) != 0 {
		t.Fatal("a cancelled subscriber still receives")
	}
	cancelA()
}
