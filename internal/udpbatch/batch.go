package udpbatch

import (
	"encoding/binary"
	"net"

	"golang.org/x/net/ipv4"
)

// Limits of one coalesced (UDP GSO) message.
const (
	// maxSegments is the kernel's UDP_MAX_SEGMENTS on older kernels.
	maxSegments = 64
	// maxGSOBytes bounds a message's payload, under the 65507 bytes of
	// one IPv4 UDP datagram (the kernel's limit for a GSO message too).
	maxGSOBytes = 65000
	// maxSegment is the largest segment coalesced: a 1500-byte MTU less
	// the IPv6 and UDP headers. The kernel refuses (EINVAL) a segment
	// that its route would have to fragment; a larger packet goes alone.
	maxSegment = 1452
	// lookback is how many of the latest messages WriteTo searches for
	// the packet's destination; past it, the packet starts a message.
	lookback = 8
)

// batch is what one sendmmsg sends: n messages made of pkts packets.
// Without GSO, each message holds one packet. With it, a message holds
// the back-to-back packets of one destination as segments of seg bytes
// (the last may be shorter), and the kernel cuts it into datagrams.
type batch struct {
	msgs  []ipv4.Message
	meta  []msgMeta
	slots [][]byte // one buffer per packet, maxPacket bytes each
	n     int      // messages in use
	pkts  int      // packets in use
	off   int      // messages sent, when a sender stopped at a full socket
	last  int      // the message the latest packet went into
	// writing counts the slots reserved and not yet committed (Reserve):
	// the batch does not go out, nor is it reused, while any is.
	writing int
	// abandoned is set on a batch dropped (queue full) while slots of it
	// were still being written: the last commit frees it.
	abandoned bool
}

// msgMeta is what coalescing needs to know of a message.
type msgMeta struct {
	seg   int    // the first segment's size: the GSO size
	total int    // bytes in all segments
	oob   []byte // the UDP_SEGMENT control message, built once
}

func newBatch(size int) *batch {
	b := &batch{
		msgs:  make([]ipv4.Message, size),
		meta:  make([]msgMeta, size),
		slots: make([][]byte, size),
	}
	for i := range b.msgs {
		b.msgs[i].Buffers = make([][]byte, 0, 1)
		b.slots[i] = make([]byte, 0, maxPacket)
		b.meta[i].oob = segmentControl()
	}
	return b
}

// add copies p into the batch for addr (see take).
func (bt *batch) add(p []byte, addr net.Addr, gso bool) {
	copy(bt.take(len(p), addr, gso), p)
}

// take returns the next slot, of n bytes (at most maxPacket), for a
// packet to addr: as one more segment of the latest message for addr
// when gso allows and that message can take it, else as a new message.
// The slot's bytes are the packet; the caller writes them.
func (bt *batch) take(n int, addr net.Addr, gso bool) []byte {
	i := -1
	if gso {
		i = bt.latest(addr)
	}
	return bt.takeIn(n, addr, gso, i)
}

// takeIn is take when i, the latest message for addr, is known (-1:
// none): for the packets after the first of a run to one address, the
// message the one before went into (bt.last).
func (bt *batch) takeIn(n int, addr net.Addr, gso bool, i int) []byte {
	slot := bt.slots[bt.pkts][:n]
	bt.slots[bt.pkts] = slot
	bt.pkts++
	if gso && i >= 0 && bt.canTake(i, n) {
		m, meta := &bt.msgs[i], &bt.meta[i]
		m.Buffers = append(m.Buffers, slot)
		meta.total += n
		if len(m.Buffers) == 2 {
			binary.NativeEndian.PutUint16(meta.oob[segmentDataOffset:], uint16(meta.seg))
			m.OOB = meta.oob
		}
		bt.last = i
		return slot
	}
	bt.last = bt.n
	m := &bt.msgs[bt.n]
	m.Buffers = append(m.Buffers[:0], slot)
	m.Addr = addr
	m.OOB = nil
	bt.meta[bt.n].seg = n
	bt.meta[bt.n].total = n
	bt.n++
	return slot
}

// reset empties the batch for reuse; buffers keep their capacity.
func (bt *batch) reset() {
	bt.n, bt.pkts, bt.off = 0, 0, 0
}

// latest returns the index of the latest message, among the last
// lookback, that goes to addr, or -1. Only that message may take a
// packet for addr: appending to an earlier one would reorder the flow.
func (bt *batch) latest(addr net.Addr) int {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || ua == nil {
		return -1
	}
	for i := bt.n - 1; i >= 0 && i >= bt.n-lookback; i-- {
		if sameUDPAddr(bt.msgs[i].Addr, ua) {
			return i
		}
	}
	return -1
}

// canTake tells whether message i can take a packet of n bytes as one
// more segment: its segments so far are all full, the packet is no
// larger than they are, and the message stays within the kernel's
// limits.
func (bt *batch) canTake(i, n int) bool {
	meta, segs := &bt.meta[i], len(bt.msgs[i].Buffers)
	return n > 0 && n <= meta.seg && meta.seg <= maxSegment &&
		meta.total == segs*meta.seg &&
		segs < maxSegments && meta.total+n <= maxGSOBytes
}

// sameUDPAddr reports whether a is b: the same pointer, or the same IP,
// port and zone.
func sameUDPAddr(a net.Addr, b *net.UDPAddr) bool {
	x, ok := a.(*net.UDPAddr)
	if !ok || x == nil {
		return false
	}
	return x == b || (x.Port == b.Port && x.IP.Equal(b.IP) && x.Zone == b.Zone)
}
