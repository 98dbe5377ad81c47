package webrtc

import (
	"testing"
	"time"
)

// splitPayloads cuts fuzz input into payloads at 0xff 0xfe markers so one
// input exercises a sequence of packets.
func splitPayloads(data []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i+1 < len(data); i++ {
		if data[i] == 0xff && data[i+1] == 0xfe {
			out = append(out, data[start:i])
			start = i + 2
			i++
		}
	}
	return append(out, data[start:])
}

func fuzzFrames(t *testing.T, c frameCodec, data []byte) {
	a := newAssembler(c)
	for i, p := range splitPayloads(data) {
		if i%5 == 3 {
			a.loss()
		}
		c.isFrameStart(p)
		a.packet(uint32(i/3), i%2 == 0, p)
	}
	a.finish()
	frames, _ := a.take()
	for _, f := range frames {
		if len(f.data) == 0 {
			t.Fatal("empty frame handed out")
		}
	}
}

func FuzzH264Depacketize(f *testing.F) {
	f.Add(stapA(testSPS, testPPS, testIDR))
	f.Add(append(append(fuA(bigSlice(naluIDR, 300), 100)[0], 0xff, 0xfe), fuA(bigSlice(naluIDR, 300), 100)[1]...))
	f.Add([]byte{0x78, 0x00})
	f.Add([]byte{0x7c, 0x85})
	f.Fuzz(func(t *testing.T, data []byte) {
		h := &h264Frame{}
		fuzzFrames(t, h, data)
		h.videoSize()
	})
}

func FuzzVP8Depacketize(f *testing.F) {
	f.Add([]byte{0x90, 0x80, 0x80, 0x01, 0x10, 0x02, 0x00})
	f.Add([]byte{0x10, 0x31, 0xff, 0xfe, 0x00, 0xaa})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzFrames(t, &vp8Frame{}, data)
	})
}

func FuzzOpusDuration(f *testing.F) {
	f.Add([]byte{0xfc})
	f.Add([]byte{0xfb, 0x3f})
	f.Fuzz(func(t *testing.T, data []byte) {
		if d := opusDuration(data); d <= 0 || d > 120*time.Millisecond {
			t.Fatalf("duration %v", d)
		}
	})
}

// FuzzJitterBuffer feeds arbitrary sequence numbers and times: the buffer
// must stay bounded and hand out each sequence number at most once in a
// row of in-order output.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 1, 0, 3, 0, 2, 10, 0, 200, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := newJitterBuffer(150 * time.Millisecond)
		now := t0
		for i := 0; i+2 < len(data); i += 3 {
			seq := uint16(data[i])<<8 | uint16(data[i+1])
			now = now.Add(time.Duration(data[i+2]) * time.Millisecond)
			b.push(pkt(seq), now)
			b.pop(now)
			if b.held < 0 || b.held > jitterCapacity {
				t.Fatalf("held %d", b.held)
			}
		}
		b.pop(now.Add(time.Hour))
		if b.held != 0 {
			t.Fatalf("held %d after everything timed out", b.held)
		}
	})
}
