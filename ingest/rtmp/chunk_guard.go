package rtmp

import (
	"errors"
	"fmt"
	"net"
)

// RTMP framing (RTMP 1.0 spec, section 5.3): after a 3073-byte handshake
// (C0, C1, C2), a stream of chunks, each a basic header (format and chunk
// stream id), a message header of 11, 7, 3 or 0 bytes, an optional 4-byte
// extended timestamp, and a body of at most the chunk size.
const (
	handshakeLen   = 1 + 1536 + 1536
	rtmpeVersion   = 6           // C0 of encrypted RTMP (RTMPE)
	extendedTS     = 0xFFFFFF    // timestamp field that announces an extended one
	libMaxBody     = 10 << 20    // the library's own bound on a message body
	preAuthMaxBody = 64 << 10    // messages before the token is checked are commands
	typeSetChunk   = 1           // Set Chunk Size protocol control message
	typeAbort      = 2           // Abort Message protocol control message
	firstChunkSize = uint32(128) // chunk size until the peer sets one
)

// errChunkProtocol is a framing the library would refuse too.
var errChunkProtocol = errors.New("RTMP chunk stream error")

// chunkStream is what the guard keeps per chunk stream id, as the library
// does: the last message header and how much of the message has arrived.
type chunkStream struct {
	tsKnown bool
	extTS   bool
	bodyLen uint32
	typ     uint8
	recv    uint32 // bytes of the message in assembly; 0 between messages
	multi   bool   // the message spans chunks (the library keeps its parts)
	ctl     [4]byte
}

// chunkGuard follows the bytes a peer sends, before the RTMP library reads
// them, and fails the read that carries a message or chunk size over the
// limits, or more messages in assembly than limits allow. The library
// allocates a chunk's body (up to the chunk size) from its header alone and
// keeps every partial message of up to 62 chunk streams; the guard bounds
// both before the library sees the header. It is used by one goroutine.
type chunkGuard struct {
	net.Conn
	maxBody    uint32 // message size limit now (smaller before auth)
	bodyLimit  string // what sets maxBody, for the error
	maxChunk   uint32
	maxPending uint64 // declared bytes of messages in assembly, all streams

	hsLeft    int
	chunkSize uint32
	streams   [64]chunkStream
	pending   uint64
	err       error

	hdr      [16]byte
	hdrLen   int
	hdrNeed  int
	hdrExt   bool // hdrNeed already counts an extended timestamp
	cur      *chunkStream
	chunkLen uint32 // body bytes of the chunk being read
	bodyLeft uint32
}

func newChunkGuard(nc net.Conn, maxBody, maxChunk, maxPending int) *chunkGuard {
	return &chunkGuard{
		Conn:       nc,
		maxBody:    uint32(maxBody),
		bodyLimit:  "before the token is checked",
		maxChunk:   uint32(maxChunk),
		maxPending: uint64(maxPending),
		hsLeft:     handshakeLen,
		chunkSize:  firstChunkSize,
	}
}

// setMaxBody changes the message size limit (raised once the peer is
// authorized).
func (g *chunkGuard) setMaxBody(n int) {
	g.maxBody = uint32(n)
	g.bodyLimit = "rtmp.max_message_size"
}

// Read reads from the connection and follows the framing of what it read.
// A read whose bytes break a limit returns none of them, so the library never
// acts on the header.
func (g *chunkGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.Conn.Read(p)
	if n > 0 {
		if ferr := g.feed(p[:n]); ferr != nil {
			g.err = ferr
			return 0, ferr
		}
	}
	return n, err
}

// feed advances the framing state over b.
func (g *chunkGuard) feed(b []byte) error {
	for len(b) > 0 {
		switch {
		case g.hsLeft > 0:
			if g.hsLeft == handshakeLen && b[0] == rtmpeVersion {
				return fmt.Errorf("%w: encrypted RTMP (RTMPE) is not served; use RTMPS", errChunkProtocol)
			}
			n := min(g.hsLeft, len(b))
			g.hsLeft -= n
			b = b[n:]
		case g.bodyLeft > 0:
			n := min(int(g.bodyLeft), len(b))
			g.capture(b[:n])
			g.bodyLeft -= uint32(n)
			b = b[n:]
			if g.bodyLeft == 0 {
				if err := g.endChunk(); err != nil {
					return err
				}
			}
		default:
			g.hdr[g.hdrLen] = b[0]
			g.hdrLen++
			b = b[1:]
			if g.hdrLen == 1 {
				if err := g.basicHeader(); err != nil {
					return err
				}
			} else if g.hdrLen == g.hdrNeed && !g.hdrExt && g.needsExtendedTS() {
				g.hdrNeed += 4
				g.hdrExt = true
			}
			if g.hdrLen == g.hdrNeed {
				if err := g.startChunk(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// basicHeader reads the first byte of a chunk: format and stream id.
func (g *chunkGuard) basicHeader() error {
	fmtType, id := g.hdr[0]>>6, g.hdr[0]&0x3F
	if id < 2 {
		return fmt.Errorf("%w: extended chunk stream ids are not supported", errChunkProtocol)
	}
	st := &g.streams[id]
	g.cur = st
	g.hdrExt = false
	switch fmtType {
	case 0:
		g.hdrNeed = 12
	case 1:
		g.hdrNeed = 8
	case 2:
		g.hdrNeed = 4
	default:
		g.hdrNeed = 1
		if st.recv == 0 && !st.tsKnown {
			return fmt.Errorf("%w: type 3 chunk without a previous chunk", errChunkProtocol)
		}
		if st.extTS {
			g.hdrNeed += 4
		}
	}
	if fmtType != 3 && st.recv != 0 {
		return fmt.Errorf("%w: type %d chunk inside a message", errChunkProtocol, fmtType)
	}
	if (fmtType == 1 || fmtType == 2) && !st.tsKnown {
		return fmt.Errorf("%w: type %d chunk without a previous chunk", errChunkProtocol, fmtType)
	}
	return nil
}

// needsExtendedTS reports whether the message header just completed
// announces an extended timestamp (types 0 to 2; type 3 knows it at once).
func (g *chunkGuard) needsExtendedTS() bool {
	if g.hdr[0]>>6 == 3 {
		return false
	}
	return uint32(g.hdr[1])<<16|uint32(g.hdr[2])<<8|uint32(g.hdr[3]) == extendedTS
}

// startChunk applies a complete chunk header and sets the body to follow.
func (g *chunkGuard) startChunk() error {
	st, fmtType := g.cur, g.hdr[0]>>6
	g.hdrLen = 0
	switch fmtType {
	case 0, 1:
		st.tsKnown = true
		st.extTS = g.needsExtendedTS()
		st.bodyLen = uint32(g.hdr[4])<<16 | uint32(g.hdr[5])<<8 | uint32(g.hdr[6])
		st.typ = g.hdr[7]
		if st.bodyLen > g.maxBody {
			return reject(reasonOversize, "%w: message of %d bytes, over the limit of %d (%s)",
				ErrTooLarge, st.bodyLen, g.maxBody, g.bodyLimit)
		}
	case 2:
		st.extTS = g.needsExtendedTS()
	}
	if st.recv == 0 && st.bodyLen > g.chunkSize {
		// A message that spans chunks: the library keeps it until its end.
		st.multi = true
		g.pending += uint64(st.bodyLen)
		if g.pending > g.maxPending {
			return reject(reasonOversize, "%w: %d bytes of messages in assembly, over the limit of %d (twice rtmp.max_message_size)",
				ErrTooLarge, g.pending, g.maxPending)
		}
	}
	g.chunkLen = min(st.bodyLen-st.recv, g.chunkSize)
	g.bodyLeft = g.chunkLen
	if g.bodyLeft == 0 {
		return g.endChunk()
	}
	return nil
}

// capture keeps the first bytes of a protocol control message's body.
func (g *chunkGuard) capture(b []byte) {
	st := g.cur
	if st.typ != typeSetChunk && st.typ != typeAbort {
		return
	}
	off := st.recv + (g.chunkLen - g.bodyLeft)
	for i := 0; i < len(b) && int(off)+i < len(st.ctl); i++ {
		st.ctl[int(off)+i] = b[i]
	}
}

// endChunk counts a chunk's body and applies a message it completes.
func (g *chunkGuard) endChunk() error {
	st := g.cur
	if st.multi {
		st.recv += g.chunkLen
		if st.recv < st.bodyLen {
			return nil
		}
		g.pending -= uint64(st.bodyLen)
		st.multi = false
	}
	st.recv = 0
	switch st.typ {
	case typeSetChunk, typeAbort:
		if st.bodyLen != 4 {
			return fmt.Errorf("%w: control message type %d of %d bytes", errChunkProtocol, st.typ, st.bodyLen)
		}
		v := uint32(st.ctl[0])<<24 | uint32(st.ctl[1])<<16 | uint32(st.ctl[2])<<8 | uint32(st.ctl[3])
		if st.typ == typeAbort {
			g.abort(v)
			return nil
		}
		if v == 0 {
			return fmt.Errorf("%w: chunk size 0", errChunkProtocol)
		}
		if v > g.maxChunk {
			return reject(reasonOversize, "%w: chunk size %d, over the limit of %d (rtmp.max_chunk_size)",
				ErrTooLarge, v, g.maxChunk)
		}
		g.chunkSize = v
	}
	return nil
}

// abort drops the message in assembly on chunk stream id, as the library
// does on an Abort Message.
func (g *chunkGuard) abort(id uint32) {
	if id < 2 || id > 63 {
		return
	}
	st := &g.streams[id]
	if st.recv == 0 {
		return
	}
	g.pending -= uint64(st.bodyLen)
	st.recv = 0
	st.bodyLen = 0
	st.multi = false
}
