package cluster

import (
	"testing"

	"github.com/pion/rtp"
)

// FuzzFrameAssembler feeds the assembler of each codec packets made of
// arbitrary bytes (a sequence step, forward or back, a timestamp step, marker and payload
// per record): nothing panics, and every frame that comes out of the VP8
// one has a readable frame tag.
func FuzzFrameAssembler(f *testing.F) {
	f.Add([]byte{1, 0, 1, 0x90, 0x80, 0x01, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01})
	f.Add([]byte{1, 1, 1, 0x7c, 0x85, 0x88, 1, 0, 1, 0x7c, 0x45, 0x99})
	f.Add([]byte{2, 0, 0, 0x10, 0x11, 0x02, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, d := range []depacketizer{&h264Depacketizer{}, &vp8Depacketizer{}} {
			_, isVP8 := d.(*vp8Depacketizer)
			a := newFrameAssembler(d)
			var seq uint16
			var ts uint32
			for i := 0; i+3 <= len(b); {
				n := int(b[i+2] & 0x1f)
				end := min(i+3+n, len(b))
				seq += uint16(int(b[i]&7) - 2) // back 2 to on 5: reordered, repeated, lost
				ts += uint32(b[i+1]&1) * 3000
				p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, Marker: b[i+2]&0x80 != 0}, Payload: b[i+3 : end]}
				frame, _, key, _ := a.push(p)
				if frame != nil && isVP8 {
					if k, err := vp8Keyframe(frame); err != nil || k != key {
						t.Fatalf("a VP8 frame out with a bad tag (% x): key %v, %v", frame[:min(len(frame), 10)], key, err)
					}
				}
				i = end
			}
		}
	})
}
