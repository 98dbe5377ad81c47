package webrtc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/pion/rtp/codecs"
)

// The seed corpus is real encoder output: testdata/seed.h264 is six frames
// of libx264 (96x64 baseline, two slices per picture, an IDR every third
// frame) and testdata/seed.ivf six frames of libvpx, both made with
//
//	ffmpeg -f lavfi -i testsrc2=size=96x64:rate=10 -t 0.6 -c:v libx264 -profile:v baseline \
//	  -preset ultrafast -g 3 -x264-params slices=2 -pix_fmt yuv420p -f h264 seed.h264
//	ffmpeg -f lavfi -i testsrc2=size=96x64:rate=10 -t 0.6 -c:v libvpx -g 3 -b:v 200k -f ivf seed.ivf

// readSeed reads a file under testdata or fails the fuzz target.
func readSeed(f *testing.F, name string) []byte {
	f.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// annexBNALUs splits an Annex-B byte stream at its 3- and 4-byte start
// codes, dropping trailing zeros and empty units. No unit it returns holds
// a start code or ends in a zero byte.
func annexBNALUs(b []byte) [][]byte {
	var out [][]byte
	flush := func(n []byte) {
		n = bytes.TrimRight(n, "\x00")
		if len(n) > 0 {
			out = append(out, n)
		}
	}
	for {
		i := bytes.Index(b, []byte{0, 0, 1})
		if i < 0 {
			flush(b)
			return out
		}
		flush(b[:i])
		b = b[i+3:]
	}
}

// ivfFrames returns the frames of an IVF file (a 32-byte file header, then
// per frame a 12-byte header whose first 4 bytes are the size).
func ivfFrames(b []byte) [][]byte {
	if len(b) < 32 {
		return nil
	}
	b = b[binary.LittleEndian.Uint16(b[6:8]):]
	var out [][]byte
	for len(b) >= 12 {
		n := int(binary.LittleEndian.Uint32(b))
		if n > len(b)-12 {
			break
		}
		out = append(out, b[12:12+n])
		b = b[12+n:]
	}
	return out
}

// packetizeH264 writes one access unit as RTP payloads of at most mtu
// bytes in packetization mode 1: runs of small units aggregated in STAP-A,
// a unit that fits alone as a single NAL unit packet, larger ones in FU-A.
func packetizeH264(nalus [][]byte, mtu int) [][]byte {
	var out [][]byte
	var stap [][]byte
	stapSize := 1
	flush := func() {
		switch len(stap) {
		case 0:
		case 1:
			out = append(out, stap[0])
		default:
			out = append(out, stapA(stap...))
		}
		stap, stapSize = nil, 1
	}
	for _, n := range nalus {
		if len(n) > mtu {
			flush()
			out = append(out, fuA(n, mtu-2)...)
			continue
		}
		if stapSize+2+len(n) > mtu {
			flush()
		}
		stap = append(stap, n)
		stapSize += 2 + len(n)
	}
	flush()
	return out
}

// cleanNALU makes n a unit packetization mode 1 may carry alone: forbidden
// bit clear and a type from 1 to 23.
func cleanNALU(n []byte) []byte {
	n = append([]byte(nil), n...)
	t := n[0] & 0x1f
	if t == 0 || t > 23 {
		t = naluNonIDR
	}
	n[0] = n[0]&0x60 | t
	return n
}

// accessUnits cuts units into frames the way an encoder emits them: a new
// frame at an AUD or SPS, or at a slice with first_mb_in_slice 0 once the
// frame has a slice.
func accessUnits(nalus [][]byte) [][][]byte {
	var out [][][]byte
	var cur [][]byte
	hasSlice := false
	for _, n := range nalus {
		t := n[0] & 0x1f
		isSlice := t >= 1 && t <= 5
		first := isSlice && len(n) > 1 && n[1]&0x80 != 0
		if len(cur) > 0 && (t == naluAUD || t == naluSPS || (first && hasSlice)) {
			out = append(out, cur)
			cur, hasSlice = nil, false
		}
		cur = append(cur, n)
		hasSlice = hasSlice || isSlice
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// FuzzH264RoundTrip packetizes an Annex-B stream at an arbitrary MTU and
// depacketizes it: every payload of a valid packetization is accepted, and
// each access unit comes back byte for byte, with the last SPS and PPS put
// before an IDR that lacks them and nothing else added or lost.
func FuzzH264RoundTrip(f *testing.F) {
	seed := readSeed(f, "seed.h264")
	for _, mtu := range []uint16{1200, 300, 40, 3} {
		f.Add(mtu, seed)
	}
	f.Add(uint16(100), annexB(testAUD, testSPS, testPPS, testIDR, testIDR))
	f.Add(uint16(8), annexB(testP, testIDR, testAUD, testP))
	f.Fuzz(func(t *testing.T, mtu uint16, stream []byte) {
		m := max(int(mtu)%1400, 3)
		var nalus [][]byte
		for _, n := range annexBNALUs(stream) {
			nalus = append(nalus, cleanNALU(n))
		}
		var sps, pps []byte
		h := &h264Frame{}
		for _, au := range accessUnits(nalus) {
			for i, p := range packetizeH264(au, m) {
				if len(p) > m && len(p) > 3 {
					t.Fatalf("payload %d of %d bytes over the MTU %d", i, len(p), m)
				}
				if err := h.push(p); err != nil {
					t.Fatalf("payload %d (%x) of a valid packetization refused: %v", i, p[:min(len(p), 8)], err)
				}
			}
			got, key, err := h.finish()
			if err != nil {
				t.Fatalf("finish: %v", err)
			}
			want, wantKey := expectedAU(au, sps, pps)
			for _, n := range au {
				switch n[0] & 0x1f {
				case naluSPS:
					sps = n
				case naluPPS:
					pps = n
				}
			}
			if key != wantKey || !bytes.Equal(got, want) {
				t.Fatalf("access unit %x\n got key %v %x\nwant key %v %x", au, key, got, wantKey, want)
			}
		}
	})
}

// expectedAU is what the depacketizer must hand out for one access unit,
// given the parameter sets of the frames before it.
func expectedAU(au [][]byte, sps, pps []byte) ([]byte, bool) {
	hasSlice, key, hasSPS, hasPPS := false, false, false, false
	for _, n := range au {
		switch n[0] & 0x1f {
		case 1, 2, 3, 4:
			hasSlice = true
		case naluIDR:
			hasSlice, key = true, true
		case naluSPS:
			hasSPS = true
		case naluPPS:
			hasPPS = true
		}
	}
	if !hasSlice {
		return nil, false
	}
	var params [][]byte
	if key && !hasSPS && sps != nil {
		params = append(params, sps)
	}
	if key && !hasPPS && pps != nil {
		params = append(params, pps)
	}
	rest := au
	var out []byte
	if len(params) > 0 && au[0][0]&0x1f == naluAUD {
		out = appendNALU(out, au[0])
		rest = au[1:]
	}
	for _, p := range params {
		out = appendNALU(out, p)
	}
	for _, n := range rest {
		out = appendNALU(out, n)
	}
	return out, key
}

// FuzzH264Payloads pushes arbitrary payloads (cut at 0xff 0xfe, a frame
// ending after every third) straight into the depacketizer: every refusal
// is one of its sentinel errors, and no frame is larger than what went in
// (at most 4 bytes of start code per input byte, plus kept parameter sets).
func FuzzH264Payloads(f *testing.F) {
	seed := readSeed(f, "seed.h264")
	var joined []byte
	for _, p := range packetizeH264(annexBNALUs(seed), 200) {
		joined = append(append(joined, p...), 0xff, 0xfe)
	}
	f.Add(joined)
	f.Add(stapA(testSPS, testPPS, testIDR))
	f.Add([]byte{0x7c, 0x85, 0x01, 0xff, 0xfe, 0x7c, 0x45, 0x02})
	f.Add([]byte{0x78, 0x00, 0x05, 0x65})
	f.Fuzz(func(t *testing.T, data []byte) {
		h := &h264Frame{}
		in := 0
		for i, p := range splitPayloads(data) {
			in += len(p)
			if err := h.push(p); err != nil && !errors.Is(err, errBadPayload) && !errors.Is(err, errEmptyPayload) && !errors.Is(err, errFrameTooLarge) {
				t.Fatalf("push: an error that is no sentinel: %v", err)
			}
			if i%3 != 2 {
				continue
			}
			out, _, err := h.finish()
			if err != nil && !errors.Is(err, errBadPayload) {
				t.Fatalf("finish: an error that is no sentinel: %v", err)
			}
			if err == nil && out != nil && len(out) > 5*in+len(h.sps)+len(h.pps) {
				t.Fatalf("%d bytes out of %d in", len(out), in)
			}
		}
		if w, hgt, fps := h.videoSize(); w < 0 || hgt < 0 || w > 16384 || hgt > 16384 || fps < 0 || fps > 1000 {
			t.Fatalf("video size %dx%d at %v", w, hgt, fps)
		}
	})
}

// FuzzVP8RoundTrip packetizes a VP8 frame with pion's payloader at an
// arbitrary MTU, with and without a picture ID: every payload is accepted
// and the frame comes back whole, a key frame exactly when its P bit is 0.
func FuzzVP8RoundTrip(f *testing.F) {
	for i, fr := range ivfFrames(readSeed(f, "seed.ivf")) {
		f.Add(uint16(100+300*(i%4)), i%2 == 0, fr)
	}
	f.Add(uint16(5), false, []byte{0x00})
	f.Fuzz(func(t *testing.T, mtu uint16, pictureID bool, fr []byte) {
		m := mtu%1400 + 6
		pl := &codecs.VP8Payloader{EnablePictureID: pictureID}
		v := &vp8Frame{}
		for i, p := range pl.Payload(m, fr) {
			if len(p) > int(m) {
				t.Fatalf("payload of %d bytes over the MTU %d", len(p), m)
			}
			if i == 0 && !v.isFrameStart(p) {
				t.Fatalf("first payload %x not seen as a frame start", p[:min(len(p), 8)])
			}
			if err := v.push(p); err != nil {
				t.Fatalf("payload %d refused: %v", i, err)
			}
		}
		got, key, err := v.finish()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, fr) || (len(fr) > 0 && key != (fr[0]&1 == 0)) {
			t.Fatalf("frame %x came back %x (key %v)", fr[:min(len(fr), 16)], got[:min(len(got), 16)], key)
		}
	})
}

// FuzzVP8Payloads pushes arbitrary payloads into the VP8 depacketizer:
// refusals are sentinels, and a frame is never larger than its payloads.
func FuzzVP8Payloads(f *testing.F) {
	pl := &codecs.VP8Payloader{EnablePictureID: true}
	for _, fr := range ivfFrames(readSeed(f, "seed.ivf"))[:2] {
		var joined []byte
		for _, p := range pl.Payload(300, fr) {
			joined = append(append(joined, p...), 0xff, 0xfe)
		}
		f.Add(joined)
	}
	f.Add([]byte{0x90, 0x80, 0x80, 0x01, 0x10, 0x02, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		v := &vp8Frame{}
		in := 0
		for _, p := range splitPayloads(data) {
			in += len(p)
			if err := v.push(p); err != nil && !errors.Is(err, errBadPayload) && !errors.Is(err, errFrameTooLarge) {
				t.Fatalf("push: an error that is no sentinel: %v", err)
			}
		}
		out, _, err := v.finish()
		if err != nil || len(out) > in {
			t.Fatalf("%d bytes out of %d in, %v", len(out), in, err)
		}
	})
}
