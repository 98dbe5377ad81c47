package webrtc

import (
	"bytes"
	"errors"
	"testing"
)

var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8}
	testPPS = []byte{0x68, 0xce, 0x3c, 0x80}
	testIDR = []byte{0x65, 0x88, 0x84, 0x00, 0x33}
	testP   = []byte{0x41, 0x9a, 0x02, 0x03}
	testAUD = []byte{0x09, 0xf0}
)

func annexB(nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = appendNALU(b, n)
	}
	return b
}

func stapA(nalus ...[]byte) []byte {
	b := []byte{0x78} // NRI 3, type 24
	for _, n := range nalus {
		b = append(b, byte(len(n)>>8), byte(len(n)))
		b = append(b, n...)
	}
	return b
}

// fuA splits nalu into FU-A payloads of at most size bytes of body.
func fuA(nalu []byte, size int) [][]byte {
	var out [][]byte
	body := nalu[1:]
	for i := 0; i < len(body); i += size {
		end := min(i+size, len(body))
		h := nalu[0] & 0x1f
		if i == 0 {
			h |= 0x80
		}
		if end == len(body) {
			h |= 0x40
		}
		out = append(out, append([]byte{nalu[0]&0xe0 | naluFUA, h}, body[i:end]...))
	}
	return out
}

func TestH264Depacketize(t *testing.T) {
	bigIDR := append([]byte{0x65, 0x88}, bytes.Repeat([]byte{0xab}, 3000)...)
	fresh := func() *h264Frame { return &h264Frame{} }
	withParams := func() *h264Frame { return &h264Frame{sps: testSPS, pps: testPPS} }
	tests := []struct {
		name     string
		frame    func() *h264Frame
		payloads [][]byte
		want     []byte
		key      bool
		wantErr  bool
	}{
		{"single NALU non-IDR", fresh, [][]byte{testP}, annexB(testP), false, false},
		{"STAP-A with SPS PPS IDR", fresh, [][]byte{stapA(testSPS, testPPS, testIDR)}, annexB(testSPS, testPPS, testIDR), true, false},
		{"single NALUs SPS PPS IDR", fresh, [][]byte{testSPS, testPPS, testIDR}, annexB(testSPS, testPPS, testIDR), true, false},
		{"IDR without params gets the kept ones", withParams, [][]byte{testIDR}, annexB(testSPS, testPPS, testIDR), true, false},
		{"params go after an AUD", withParams, [][]byte{testAUD, testIDR}, annexB(testAUD, testSPS, testPPS, testIDR), true, false},
		{"IDR without any params", fresh, [][]byte{testIDR}, annexB(testIDR), true, false},
		{"non-IDR gets no params", withParams, [][]byte{testP}, annexB(testP), false, false},
		{"FU-A", fresh, fuA(bigIDR, 1000), annexB(bigIDR), true, false},
		{"STAP-A then FU-A", fresh, append([][]byte{stapA(testSPS, testPPS)}, fuA(bigIDR, 700)...), annexB(testSPS, testPPS, bigIDR), true, false},
		{"params only", fresh, [][]byte{stapA(testSPS, testPPS)}, nil, false, false},
		{"FU-A without start", fresh, fuA(bigIDR, 1000)[1:], nil, false, true},
		{"FU-A without end", fresh, fuA(bigIDR, 1000)[:2], nil, false, true},
		{"STAP-B", fresh, [][]byte{{0x19, 0, 1, 0}}, nil, false, true},
		{"STAP-A bad size", fresh, [][]byte{{0x78, 0, 9, 0x65}}, nil, false, true},
		{"empty", fresh, [][]byte{{}}, nil, false, true},
		{"type 0", fresh, [][]byte{{0x00, 1}}, nil, false, true},
		{"FU-A start and end", fresh, [][]byte{{0x7c, 0xc5, 1}}, nil, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.frame()
			var err error
			for _, p := range tc.payloads {
				if err = f.push(p); err != nil {
					break
				}
			}
			if err == nil {
				var data []byte
				var key bool
				data, key, err = f.finish()
				if err == nil {
					if !bytes.Equal(data, tc.want) || key != tc.key {
						t.Fatalf("got key=%v %x\nwant key=%v %x", key, data, tc.key, tc.want)
					}
				}
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, errBadPayload) && !errors.Is(err, errEmptyPayload) {
				t.Fatalf("error %v is not a payload error", err)
			}
		})
	}
}

func TestH264KeepsParams(t *testing.T) {
	f := &h264Frame{}
	_ = f.push(stapA(testSPS, testPPS, testIDR))
	if _, _, err := f.finish(); err != nil {
		t.Fatal(err)
	}
	_ = f.push(testIDR)
	data, key, err := f.finish()
	if err != nil || !key || !bytes.Equal(data, annexB(testSPS, testPPS, testIDR)) {
		t.Fatalf("second IDR: %x %v %v", data, key, err)
	}
	if w, h, _ := f.videoSize(); w != 640 || h != 360 {
		t.Logf("size from the test SPS: %dx%d", w, h)
	}
}

func TestH264FrameStart(t *testing.T) {
	f := &h264Frame{}
	tests := []struct {
		p    []byte
		want bool
	}{
		{testSPS, true},
		{testAUD, true},
		{stapA(testSPS, testPPS), true},
		{testIDR, true},                   // first_mb_in_slice 0
		{[]byte{0x65, 0x48, 0x01}, false}, // first_mb_in_slice 1
		{fuA(append([]byte{0x65, 0x88}, make([]byte, 100)...), 40)[0], true},
		{fuA(append([]byte{0x65, 0x88}, make([]byte, 100)...), 40)[1], false},
		{[]byte{}, false},
		{[]byte{0x7c}, false},
	}
	for i, tc := range tests {
		if got := f.isFrameStart(tc.p); got != tc.want {
			t.Errorf("%d %x: got %v", i, tc.p, got)
		}
	}
}
