package sender

import (
	"strings"
	"sync/atomic"
)

// VP8 payloads (RFC 7741). A VP8 feed's packet is one whole frame; it is cut
// once for every viewer into payloads that each begin with the same 6-byte
// payload descriptor (section 4.2):
//
//	byte 0  X=1 R N=0 S PID=0   S set on the frame's first payload only
//	byte 1  I=1 L=1 T=1 K=0     picture ID, TL0PICIDX and TID present
//	byte 2  M=1 PictureID (high 7 bits)
//	byte 3  PictureID (low 8 bits)
//	byte 4  TL0PICIDX
//	byte 5  TID=0 Y=0 KEYIDX=0
//
// The picture ID and TL0PICIDX are left zero in the shared payloads: they
// are the viewer's, written by its send path as each packet leaves (see
// vp8Pictures), so that they run on without a jump across a rung switch or
// a new publisher, as sequence numbers and timestamps do.
const vp8DescSize = 6

// Descriptor bits.
const (
	vp8X = 0x80 // byte 0: extended control bits present
	vp8S = 0x10 // byte 0: start of a partition
	vp8I = 0x80 // byte 1: picture ID present
	vp8L = 0x40 // byte 1: TL0PICIDX present
	vp8T = 0x20 // byte 1: TID present
	vp8M = 0x80 // byte 2: 15-bit picture ID
)

// cutVP8 cuts one VP8 frame into RTP payloads of at most rtpMTU bytes,
// descriptor included, of nearly equal size (a last tiny payload would
// cost a packet's overhead for a few bytes). An empty frame has none.
func cutVP8(frame []byte) [][]byte {
	if len(frame) == 0 {
		return nil
	}
	const room = rtpMTU - vp8DescSize
	n := (len(frame) + room - 1) / room
	size := (len(frame) + n - 1) / n
	buf := make([]byte, len(frame)+n*vp8DescSize)
	out := make([][]byte, 0, n)
	for off := 0; off < len(frame); off += size {
		end := min(off+size, len(frame))
		pl := buf[:vp8DescSize+end-off]
		buf = buf[len(pl):]
		pl[0] = vp8X
		if off == 0 {
			pl[0] |= vp8S
		}
		pl[1] = vp8I | vp8L | vp8T
		pl[2] = vp8M
		copy(pl[vp8DescSize:], frame[off:end])
		out = append(out, pl)
	}
	return out
}

// vp8Layout says whether pl begins with the descriptor cutVP8 writes, and
// whether it is the first payload of a frame.
func vp8Layout(pl []byte) (ok, first bool) {
	if len(pl) <= vp8DescSize || pl[0]&vp8X == 0 || pl[1]&(vp8I|vp8L|vp8T) != vp8I|vp8L|vp8T || pl[2]&vp8M == 0 {
		return false, false
	}
	return true, pl[0]&vp8S != 0 && pl[0]&0x07 == 0
}

// vp8Pictures numbers the frames of one VP8 stream as one viewer gets them:
// every frame sent takes the next picture ID (15 bits) and the next
// TL0PICIDX (every frame is in temporal layer 0), whatever feed it came
// from. A reader of a feed only ever skips frames up to a keyframe, so a
// viewer's decoder sees a gap only where the network lost a frame.
type vp8Pictures struct {
	pid uint16
	tl0 uint8
}

// next moves to the next frame and returns its picture ID and TL0PICIDX.
func (p *vp8Pictures) next() (uint16, uint8) {
	p.pid = (p.pid + 1) & 0x7fff
	p.tl0++
	return p.pid, p.tl0
}

// vp8Buf is where a VP8 payload is written with a viewer's picture ID
// on its way out: pion copies it (SRTP) before Write returns, so one
// buffer serves every packet of a stream, while no other write holds it.
type vp8Buf struct {
	busy atomic.Bool
	b    [rtpMTU]byte
}

// withPicture returns pl with the picture ID and TL0PICIDX written, in b
// when it is free and large enough (release it with b.release), else in
// a new buffer.
func (b *vp8Buf) withPicture(pl []byte, pid uint16, tl0 uint8) []byte {
	var out []byte
	if len(pl) <= len(b.b) && b.busy.CompareAndSwap(false, true) {
		out = b.b[:len(pl)]
	} else {
		out = make([]byte, len(pl))
	}
	copy(out, pl)
	out[2] = vp8M | byte(pid>>8)
	out[3] = byte(pid)
	out[4] = tl0
	return out
}

// release frees b after a write that used out.
func (b *vp8Buf) release(out []byte) {
	if len(out) > 0 && &out[0] == &b.b[0] {
		b.busy.Store(false)
	}
}

// isVP8 says whether a stream's codec is VP8.
func isVP8(mime string) bool { return strings.EqualFold(mime, "video/VP8") }
