package webrtc

import (
	"time"

	"github.com/pion/rtp"
)

// jitterCapacity is how many packets one track's jitter buffer holds; a
// packet further ahead than this forces the oldest missing ones to count
// as lost. A power of two.
const jitterCapacity = 512

// farBehindReset is how many packets in a row from far behind the buffer's
// position count as a new sequence (a publisher restart), not as late ones.
const farBehindReset = 16

// jitterItem is what the buffer hands out, in sequence order: a packet, or
// a run of packets given up on.
type jitterItem struct {
	pkt  *rtp.Packet // nil for a loss
	at   time.Time   // when pkt arrived
	lost int         // packets given up on, when pkt is nil
}

// jitterStats counts what the buffer did; the owner reads and resets it.
type jitterStats struct {
	late, duplicate, recovered, lost int
}

type jitterSlot struct {
	pkt *rtp.Packet
	at  time.Time
}

// jitterBuffer puts one RTP stream's packets back in sequence order
// (RFC 3550 sequence numbers, wrapping at 2^16) and waits at most latency
// for a missing one before giving up on it. Time is passed in, never read,
// so it is tested without sleeping. Not safe for concurrent use.
type jitterBuffer struct {
	latency time.Duration
	slots   [jitterCapacity]jitterSlot
	held    int

	started  bool
	next     uint16    // the next sequence number to hand out
	highest  uint16    // the highest sequence number seen
	gapSince time.Time // when the packet at next was first known missing
	farOff   int       // consecutive packets far behind next

	out   []jitterItem
	stats jitterStats
}

func newJitterBuffer(latency time.Duration) *jitterBuffer {
	return &jitterBuffer{latency: latency}
}

// seqDiff returns a-b as a signed distance on the 16-bit circle.
func seqDiff(a, b uint16) int { return int(int16(a - b)) }

func (b *jitterBuffer) slot(seq uint16) *jitterSlot {
	return &b.slots[int(seq)%jitterCapacity]
}

// push adds a packet that arrived at at. Late and duplicate packets are
// dropped (counted in stats). Call pop afterwards.
func (b *jitterBuffer) push(pkt *rtp.Packet, at time.Time) {
	seq := pkt.SequenceNumber
	if !b.started {
		b.started, b.next, b.highest = true, seq, seq
	}
	d := seqDiff(seq, b.next)
	if d < 0 {
		if -d <= jitterCapacity {
			b.farOff = 0
			b.stats.late++
			return
		}
		// Far behind: late beyond any retransmission, or a new sequence.
		b.farOff++
		if b.farOff < farBehindReset {
			b.stats.late++
			return
		}
		b.giveUpBefore(seq, false)
		b.highest = seq
		d = 0
	}
	b.farOff = 0
	switch {
	case d >= 2*jitterCapacity:
		// A jump this far is a new sequence, not that many lost packets.
		b.giveUpBefore(seq, false)
		b.highest = seq
	case d >= jitterCapacity:
		b.giveUpBefore(seq-jitterCapacity+1, true)
	}
	s := b.slot(seq)
	if s.pkt != nil {
		b.stats.duplicate++
		return
	}
	s.pkt, s.at = pkt, at
	b.held++
	if seqDiff(seq, b.highest) < 0 {
		b.stats.recovered++
	} else {
		b.highest = seq
	}
}

// giveUpBefore hands out everything held before seq, in order, counting
// the holes as lost, and moves next to seq. Holes after the last packet
// held count only when countTail is set.
func (b *jitterBuffer) giveUpBefore(seq uint16, countTail bool) {
	n := int(seq - b.next) // 0..65535 forward distance
	scan := min(n, jitterCapacity)
	lost := 0
	for i := range scan {
		s := b.slot(b.next + uint16(i))
		if s.pkt == nil {
			lost++
			continue
		}
		if lost > 0 {
			b.emitLoss(lost, lost)
			lost = 0
		}
		b.out = append(b.out, jitterItem{pkt: s.pkt, at: s.at})
		*s = jitterSlot{}
		b.held--
	}
	switch {
	case countTail && lost+n-scan > 0:
		b.emitLoss(lost+n-scan, lost+n-scan)
	case !countTail:
		// A new sequence is a discontinuity the depacketizer must see,
		// whatever was lost.
		b.emitLoss(1, 0)
	}
	b.next = seq
	b.gapSince = time.Time{}
}

// emitLoss hands out a loss of n packets, counting counted of them.
func (b *jitterBuffer) emitLoss(n, counted int) {
	b.out = append(b.out, jitterItem{lost: n})
	b.stats.lost += counted
}

// pop returns what can be handed out at now: packets in order, and losses
// for holes that have waited latency. The slice is valid until the next
// push or pop.
func (b *jitterBuffer) pop(now time.Time) []jitterItem {
	for b.held > 0 {
		s := b.slot(b.next)
		if s.pkt != nil {
			b.out = append(b.out, jitterItem{pkt: s.pkt, at: s.at})
			*s = jitterSlot{}
			b.held--
			b.next++
			b.gapSince = time.Time{}
			continue
		}
		if b.gapSince.IsZero() {
			b.gapSince = b.earliestHeld()
		}
		if now.Sub(b.gapSince) < b.latency {
			break
		}
		lost := 0
		for b.slot(b.next).pkt == nil {
			lost++
			b.next++
		}
		b.emitLoss(lost, lost)
		b.gapSince = time.Time{}
	}
	out := b.out
	b.out = b.out[:0]
	return out
}

// earliestHeld returns when the first held packet arrived: from then on the
// packet at next was known to be missing.
func (b *jitterBuffer) earliestHeld() time.Time {
	var t time.Time
	for i := range b.slots {
		if s := &b.slots[i]; s.pkt != nil && (t.IsZero() || s.at.Before(t)) {
			t = s.at
		}
	}
	return t
}

// deadline returns when pop should next be called to give up on a hole,
// and false when nothing waits.
func (b *jitterBuffer) deadline() (time.Time, bool) {
	if b.held == 0 || b.gapSince.IsZero() {
		return time.Time{}, false
	}
	return b.gapSince.Add(b.latency), true
}

// takeStats returns the counts since the last call.
func (b *jitterBuffer) takeStats() jitterStats {
	s := b.stats
	b.stats = jitterStats{}
	return s
}
