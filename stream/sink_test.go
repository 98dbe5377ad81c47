package stream

import (
	"sync"
	"testing"
	"time"
)

// A reader with a sink gets the packets in the writer's goroutine from the
// first keyframe on; what the sink refuses is queued, and the packets
// after it are queued too until the reader has handled every queued one,
// so that it sees them all, in order.
func TestSinkKeepsOrderAcrossRefusals(t *testing.T) {
	f := NewFeed(FeedInfo{Name: "360p", Kind: KindVideo})
	r := f.Subscribe(64)
	defer r.Close()
	var seen []int
	refuse := false
	r.SetSink(func(p *Packet) bool {
		if refuse {
			return false
		}
		seen = append(seen, int(p.PTS/time.Millisecond))
		return true
	})
	f.Write(vpkt(1, false)) // before the first keyframe: dropped
	f.Write(vpkt(2, true))
	f.Write(vpkt(3, false))
	if len(seen) != 2 || seen[0] != 2 || seen[1] != 3 || len(r.C()) != 0 {
		t.Fatalf("sink saw %v with %d queued, want [2 3] and none", seen, len(r.C()))
	}
	refuse = true
	f.Write(vpkt(4, false)) // refused: queued
	refuse = false
	f.Write(vpkt(5, false)) // the sink would take it, but 4 waits
	if len(seen) != 2 || len(r.C()) != 2 {
		t.Fatalf("after a refusal the sink saw %v and %d are queued, want 2 queued", seen, len(r.C()))
	}
	for range 2 {
		p := <-r.C()
		seen = append(seen, int(p.PTS/time.Millisecond))
		r.Done()
	}
	f.Write(vpkt(6, false)) // the queue is handled: the sink again
	want := []int{2, 3, 4, 5, 6}
	if len(seen) != len(want) {
		t.Fatalf("seen %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("seen %v, want %v", seen, want)
		}
	}
}

// A reader that takes a packet from its queue and has not handled it yet
// keeps the next packets queued: the sink never overtakes it.
func TestSinkWaitsForPacketBeingHandled(t *testing.T) {
	f := NewFeed(FeedInfo{Name: "audio", Kind: KindAudio})
	r := f.Subscribe(8)
	defer r.Close()
	var mu sync.Mutex
	var sunk int
	refuse := true
	r.SetSink(func(*Packet) bool {
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			return false
		}
		sunk++
		return true
	})
	f.Write(&Packet{Kind: KindAudio})
	<-r.C() // taken, not yet Done
	mu.Lock()
	refuse = false
	mu.Unlock()
	f.Write(&Packet{Kind: KindAudio})
	if sunk != 0 || len(r.C()) != 1 {
		t.Fatalf("sunk %d, queued %d while a packet was being handled; want 0 and 1", sunk, len(r.C()))
	}
	r.Done()
	<-r.C()
	r.Done()
	f.Write(&Packet{Kind: KindAudio})
	if sunk != 1 {
		t.Fatalf("sunk %d once the queue was handled, want 1", sunk)
	}
}

// A sink refused while the queue is full loses the packet as a slow
// reader does, and the reader waits for the next keyframe, which is
// asked for.
func TestSinkRefusedIntoFullQueue(t *testing.T) {
	f := NewFeed(FeedInfo{Name: "360p", Kind: KindVideo})
	asked := 0
	f.SetKeyframeRequester(func() { asked++ })
	r := f.Subscribe(1)
	defer r.Close()
	r.SetSink(func(*Packet) bool { return false })
	f.Write(vpkt(1, true))
	f.Write(vpkt(2, false)) // the queue holds 1: dropped
	if r.Drops() != 1 || asked != 2 {
		t.Fatalf("drops %d, keyframes asked %d; want 1 and 2 (subscribe, then the drop)", r.Drops(), asked)
	}
}
