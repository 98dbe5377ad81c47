package webrtc

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func pkt(seq uint16) *rtp.Packet {
	return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq}, Payload: []byte{byte(seq)}}
}

// seqs lists what the items hold: sequence numbers, and -n for a loss of n.
func seqs(items []jitterItem) []int {
	var out []int
	for _, it := range items {
		if it.pkt == nil {
			out = append(out, -it.lost)
			continue
		}
		out = append(out, int(it.pkt.SequenceNumber))
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// feed pushes packets at the given millisecond offsets and pops after each.
func feed(b *jitterBuffer, at time.Duration, seq ...uint16) []int {
	var out []int
	for _, s := range seq {
		b.push(pkt(s), t0.Add(at))
		out = append(out, seqs(b.pop(t0.Add(at)))...)
	}
	return out
}

func TestJitterInOrder(t *testing.T) {
	b := newJitterBuffer(150 * time.Millisecond)
	if got := feed(b, 0, 10, 11, 12); !equalInts(got, []int{10, 11, 12}) {
		t.Fatalf("got %v", got)
	}
	if _, ok := b.deadline(); ok {
		t.Fatal("deadline with nothing missing")
	}
}

func TestJitterReorder(t *testing.T) {
	b := newJitterBuffer(150 * time.Millisecond)
	got := feed(b, 0, 1, 3, 4)
	if !equalInts(got, []int{1}) {
		t.Fatalf("before the hole fills: %v", got)
	}
	d, ok := b.deadline()
	if !ok || !d.Equal(t0.Add(150*time.Millisecond)) {
		t.Fatalf("deadline %v %v", d, ok)
	}
	got = feed(b, 20*time.Millisecond, 2)
	if !equalInts(got, []int{2, 3, 4}) {
		t.Fatalf("after: %v", got)
	}
	s := b.takeStats()
	if s.recovered != 1 || s.lost != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestJitterWrapAround(t *testing.T) {
	b := newJitterBuffer(150 * time.Millisecond)
	got := feed(b, 0, 65534, 0, 65535, 1)
	if !equalInts(got, []int{65534, 65535, 0, 1}) {
		t.Fatalf("got %v", got)
	}
}

func TestJitterGapGivesUp(t *testing.T) {
	b := newJitterBuffer(150 * time.Millisecond)
	feed(b, 0, 100)
	got := feed(b, 10*time.Millisecond, 103, 104)
	if len(got) != 0 {
		t.Fatalf("released before the wait: %v", got)
	}
	if got := seqs(b.pop(t0.Add(159 * time.Millisecond))); len(got) != 0 {
		t.Fatalf("gave up early: %v", got)
	}
	got = seqs(b.pop(t0.Add(160 * time.Millisecond)))
	if !equalInts(got, []int{-2, 103, 104}) {
		t.Fatalf("got %v", got)
	}
	// The retransmission comes too late.
	if got := feed(b, 200*time.Millisecond, 101); len(got) != 0 {
		t.Fatalf("late packet released: %v", got)
	}
	s := b.takeStats()
	if s.lost != 2 || s.late != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestJitterSecondGapWaitsFromItsOwnStart(t *testing.T) {
	b := newJitterBuffer(100 * time.Millisecond)
	feed(b, 0, 1, 3)
	feed(b, 50*time.Millisecond, 5)
	// At 100ms the hole at 2 is given up; 4 has been missing since 50ms.
	got := seqs(b.pop(t0.Add(100 * time.Millisecond)))
	if !equalInts(got, []int{-1, 3}) {
		t.Fatalf("got %v", got)
	}
	if d, ok := b.deadline(); !ok || !d.Equal(t0.Add(150*time.Millisecond)) {
		t.Fatalf("deadline %v %v", d, ok)
	}
	if got := seqs(b.pop(t0.Add(150 * time.Millisecond))); !equalInts(got, []int{-1, 5}) {
		t.Fatalf("got %v", got)
	}
}

func TestJitterDuplicates(t *testing.T) {
	b := newJitterBuffer(150 * time.Millisecond)
	got := feed(b, 0, 1, 1, 3, 3, 2, 2)
	if !equalInts(got, []int{1, 2, 3}) {
		t.Fatalf("got %v", got)
	}
	s := b.takeStats()
	if s.duplicate != 1 || s.late != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestJitterOverflow(t *testing.T) {
	b := newJitterBuffer(time.Hour)
	feed(b, 0, 0)
	var got []int
	for s := uint16(2); s < 2+jitterCapacity; s++ {
		got = append(got, feed(b, 0, s)...)
	}
	// 513 is jitterCapacity past next (1): 1 is given up to make room.
	if len(got) == 0 || got[0] != -1 || got[1] != 2 || len(got) != jitterCapacity+1 {
		t.Fatalf("got %d items starting %v", len(got), got[:min(len(got), 3)])
	}
	if b.held != 0 {
		t.Fatalf("held %d", b.held)
	}
}

func TestJitterJumpIsNewSequence(t *testing.T) {
	b := newJitterBuffer(150 * time.Millisecond)
	feed(b, 0, 10, 12)
	got := feed(b, 0, 30000, 30001)
	if !equalInts(got, []int{-1, 12, -1, 30000, 30001}) {
		t.Fatalf("got %v", got)
	}
	if s := b.takeStats(); s.lost != 1 {
		t.Fatalf("lost %d, want only the hole at 11", s.lost)
	}
}

func TestJitterRestartBehind(t *testing.T) {
	b := newJitterBuffer(150 * time.Millisecond)
	feed(b, 0, 40000)
	var got []int
	for i := range uint16(farBehindReset) {
		got = append(got, feed(b, 0, 100+i)...)
	}
	if len(got) == 0 || got[len(got)-1] != 100+farBehindReset-1 {
		t.Fatalf("never restarted: %v", got)
	}
}
