package sender

import (
	"net"
	"sync"
	"sync/atomic"

	"golang.org/x/net/ipv4"

	"github.com/mutstream/mutstream/internal/udpbatch"
)

// readBatch is how many packets one read of the port takes at most.
const readBatch = 16

// batchReader reads the port several packets a call (recvmmsg) and hands
// them out one at a time: at hundreds of viewers each read is otherwise a
// system call and a park of the reading goroutine in the network poller.
type batchReader struct {
	mu   sync.Mutex // the one reader: a second one reads the socket itself
	pc   *ipv4.PacketConn
	msgs []ipv4.Message
	n    int // messages read
	next int // the next to hand out

	calls, packets atomic.Uint64
}

// newBatchReader reads conn, or the UDP socket below it; nil when there
// is none.
func newBatchReader(conn net.PacketConn) *batchReader {
	if c, ok := conn.(*udpbatch.Conn); ok {
		conn = c.PacketConn
	}
	uc, ok := conn.(*net.UDPConn)
	if !ok {
		return nil
	}
	r := &batchReader{pc: ipv4.NewPacketConn(uc), msgs: make([]ipv4.Message, readBatch)}
	for i := range r.msgs {
		r.msgs[i].Buffers = [][]byte{make([]byte, maxUDP)}
	}
	return r
}

// maxUDP is the largest packet a batch buffer takes whole.
const maxUDP = 8192

// readFrom copies the next packet into b; ok is false when another
// reader holds the batch (the caller reads the socket itself).
func (r *batchReader) readFrom(b []byte) (n int, addr net.Addr, ok bool, err error) {
	if !r.mu.TryLock() {
		return 0, nil, false, nil
	}
	defer r.mu.Unlock()
	if r.next == r.n {
		r.n, r.next = 0, 0
		k, err := r.pc.ReadBatch(r.msgs, 0)
		if err != nil {
			return 0, nil, true, err
		}
		r.n = k
		r.calls.Add(1)
		r.packets.Add(uint64(k))
	}
	m := &r.msgs[r.next]
	r.next++
	return copy(b, m.Buffers[0][:m.N]), m.Addr, true, nil
}
