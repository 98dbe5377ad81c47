package webrtc

import (
	"bytes"
	"testing"
)

func TestVP8Depacketize(t *testing.T) {
	// Descriptor: X=1, S=1, PID 0; I=1 with a 15-bit picture ID.
	keyStart := []byte{0x90, 0x80, 0x80, 0x01, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a}
	interStart := []byte{0x10, 0x31, 0x02}
	cont := []byte{0x00, 0xaa, 0xbb}
	tests := []struct {
		name     string
		payloads [][]byte
		want     []byte
		key      bool
		wantErr  bool
	}{
		{"key frame", [][]byte{keyStart, cont}, []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0xaa, 0xbb}, true, false},
		{"inter frame", [][]byte{interStart}, []byte{0x31, 0x02}, false, false},
		{"no start", [][]byte{cont}, nil, false, true},
		{"empty", [][]byte{{}}, nil, false, true},
		{"truncated descriptor", [][]byte{{0x90}}, nil, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &vp8Frame{}
			var err error
			for _, p := range tc.payloads {
				if err = f.push(p); err != nil {
					break
				}
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if err != nil {
				return
			}
			data, key, _ := f.finish()
			if !bytes.Equal(data, tc.want) || key != tc.key {
				t.Fatalf("got %x key=%v", data, key)
			}
		})
	}
	f := &vp8Frame{}
	if !f.isFrameStart(keyStart) || f.isFrameStart(cont) {
		t.Fatal("isFrameStart")
	}
}

func TestOpusDuration(t *testing.T) {
	tests := []struct {
		p    []byte
		want float64 // ms
	}{
		{[]byte{0xfc}, 20},       // CELT FB 20 ms, one frame
		{[]byte{0xf8 | 1}, 40},   // two 20 ms frames
		{[]byte{0x08}, 20},       // SILK NB 20 ms
		{[]byte{0x18}, 60},       // SILK NB 60 ms
		{[]byte{0xe0}, 2.5},      // CELT 2.5 ms
		{[]byte{0xfb, 0x03}, 60}, // code 3, three frames
		{[]byte{0xfb, 0x3f}, 20}, // 63*20 ms is too long: default
		{[]byte{0xfb}, 20},       // code 3 truncated
		{nil, 20},                // empty
	}
	for _, tc := range tests {
		if got := opusDuration(tc.p); got.Seconds()*1000 != tc.want {
			t.Errorf("%x: %v, want %vms", tc.p, got, tc.want)
		}
	}
}
