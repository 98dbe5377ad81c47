package stream

import (
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/metrics"
)

func vpkt(pts int, key bool) *Packet {
	return &Packet{Kind: KindVideo, PTS: ms(pts), Keyframe: key, Data: []byte{byte(pts)}}
}

func TestReaderStartsAtKeyframeAndAsksForOne(t *testing.T) {
	f := NewFeed(FeedInfo{Name: "360p", Kind: KindVideo})
	var asked atomic.Int32
	f.SetKeyframeRequester(func() { asked.Add(1) })
	r := f.Subscribe(8)
	defer r.Close()
	if asked.Load() != 1 {
		t.Fatalf("subscribe asked for %d keyframes, want 1", asked.Load())
	}
	f.Write(vpkt(1, false))
	f.Write(vpkt(2, true))
	f.Write(vpkt(3, false))
	if got := len(r.C()); got != 2 {
		t.Fatalf("queued %d, want 2 (keyframe and after)", got)
	}
	if p := <-r.C(); !p.Keyframe {
		t.Fatal("first packet is not the keyframe")
	}
}

func TestSlowReaderSkipsToNextKeyframe(t *testing.T) {
	before := testutil.ToFloat64(metrics.DroppedFrames.WithLabelValues("slow_viewer"))
	f := NewFeed(FeedInfo{Name: "360p", Kind: KindVideo})
	var asked atomic.Int32
	f.SetKeyframeRequester(func() { asked.Add(1) })
	slow := f.Subscribe(3)
	fast := f.Subscribe(100)
	defer slow.Close()
	defer fast.Close()
	asked.Store(0)
	f.Write(vpkt(0, true))
	for i := 1; i < 10; i++ { // the slow queue fills at 3
		f.Write(vpkt(i, false))
	}
	if asked.Load() != 1 {
		t.Fatalf("a full queue asked for %d keyframes, want exactly 1", asked.Load())
	}
	if len(fast.C()) != 10 {
		t.Fatalf("the fast reader lost packets: %d", len(fast.C()))
	}
	// Drain the slow reader: it must then get nothing until a keyframe.
	for len(slow.C()) > 0 {
		<-slow.C()
	}
	f.Write(vpkt(10, false))
	if len(slow.C()) != 0 {
		t.Fatal("slow reader got a delta frame after a drop")
	}
	f.Write(vpkt(11, true))
	if p := <-slow.C(); !p.Keyframe || p.PTS != ms(11) {
		t.Fatalf("slow reader resumed with %+v, want keyframe 11", p)
	}
	if slow.Drops() == 0 || testutil.ToFloat64(metrics.DroppedFrames.WithLabelValues("slow_viewer")) <= before {
		t.Fatal("drops not counted")
	}
}

func TestAudioReaderNeverWaitsForKeyframe(t *testing.T) {
	f := NewFeed(FeedInfo{Name: "audio", Kind: KindAudio})
	r := f.Subscribe(2)
	defer r.Close()
	for i := 0; i < 4; i++ {
		f.Write(&Packet{Kind: KindAudio, PTS: ms(i * 20)})
	}
	<-r.C()
	<-r.C()
	f.Write(&Packet{Kind: KindAudio, PTS: ms(100)})
	if len(r.C()) != 1 {
		t.Fatal("audio after a drop was held back")
	}
}

func TestReaderCloseDetaches(t *testing.T) {
	f := NewFeed(FeedInfo{Name: "x", Kind: KindVideo})
	r := f.Subscribe(1)
	r.Close()
	r.Close()
	if f.Readers() != 0 {
		t.Fatalf("readers %d after close", f.Readers())
	}
	f.Write(vpkt(0, true)) // must not block or panic
}

func TestFeedDemand(t *testing.T) {
	f := NewFeed(FeedInfo{Name: "360p", Kind: KindVideo})
	if d, n := f.Demand(); d != 0 || n != 0 {
		t.Fatalf("empty feed demand %d/%d", d, n)
	}
	a, b, c := f.Subscribe(4), f.Subscribe(4), f.Subscribe(4)
	a.SetDemand(900_000)
	b.SetDemand(600_000)
	if d, n := f.Demand(); d != 600_000 || n != 2 {
		t.Fatalf("demand %d from %d readers, want 600000 from 2", d, n)
	}
	if ds, readers := f.Demands(nil); len(ds) != 2 || readers != 3 || ds[0]+ds[1] != 1_500_000 {
		t.Fatalf("demands %v from %d readers, want 900000 and 600000 from 3", ds, readers)
	}
	b.Close()
	if d, n := f.Demand(); d != 900_000 || n != 1 {
		t.Fatalf("after a reader left: %d/%d", d, n)
	}
	a.Close()
	c.Close()
}
