package rtmp

import (
	"bytes"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

var (
	testSPS = []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9}
	testPPS = []byte{0x68, 0xeb, 0xe3, 0xcb}
	testAUD = []byte{0x09, 0xf0}
	testSEI = []byte{0x06, 0x05, 0x01}
	testIDR = []byte{0x65, 0x88, 0x84}
	testP   = []byte{0x41, 0x9a, 0x02}
)

func annexB(nalus ...[]byte) []byte {
	b, _ := h264.AnnexB(nalus).Marshal()
	return b
}

func TestAnnexBWriter(t *testing.T) {
	newSPS := []byte{0x67, 0x42, 0x00, 0x1e}
	tests := []struct {
		name    string
		au      [][]byte
		want    []byte
		wantKey bool
	}{
		{"idr gets params", [][]byte{testIDR}, annexB(testSPS, testPPS, testIDR), true},
		{"aud stays first", [][]byte{testAUD, testSEI, testIDR}, annexB(testAUD, testSPS, testPPS, testSEI, testIDR), true},
		{"params not doubled", [][]byte{testSPS, testPPS, testIDR}, annexB(testSPS, testPPS, testIDR), true},
		{"in-band sps wins", [][]byte{newSPS, testIDR}, annexB(newSPS, testPPS, testIDR), true},
		{"non-idr untouched", [][]byte{testAUD, testP}, annexB(testAUD, testP), false},
		{"params only", [][]byte{testSPS, testPPS}, nil, false},
		{"empty nalus", [][]byte{{}, {}}, nil, false},
		{"nothing", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newAnnexBWriter(testSPS, testPPS)
			got, key := w.write(tt.au)
			if !bytes.Equal(got, tt.want) || key != tt.wantKey {
				t.Errorf("got % x key %v, want % x key %v", got, key, tt.want, tt.wantKey)
			}
		})
	}
}

func TestAnnexBWriterKeepsLatestParams(t *testing.T) {
	w := newAnnexBWriter(testSPS, testPPS)
	newPPS := []byte{0x68, 0x01}
	if got, _ := w.write([][]byte{newPPS}); got != nil {
		t.Fatalf("params-only AU gave a packet")
	}
	got, _ := w.write([][]byte{testIDR})
	if want := annexB(testSPS, newPPS, testIDR); !bytes.Equal(got, want) {
		t.Errorf("got % x, want % x", got, want)
	}
}

func TestSPSInfoGarbage(t *testing.T) {
	for _, sps := range [][]byte{nil, {0x67}, {0x67, 0xff, 0xff, 0xff, 0xff}, testSPS} {
		w, h, fps := spsInfo(sps)
		if w < 0 || h < 0 || fps < 0 {
			t.Errorf("spsInfo(% x) = %d %d %v", sps, w, h, fps)
		}
	}
}

func FuzzAnnexBWriter(f *testing.F) {
	f.Add(annexB(testAUD, testIDR), testSPS)
	f.Add(annexB(testP), []byte{})
	f.Fuzz(func(t *testing.T, au, sps []byte) {
		var a h264.AnnexB
		if a.Unmarshal(au) != nil {
			return
		}
		w := newAnnexBWriter(sps, testPPS)
		out, key := w.write(a)
		if key && out == nil {
			t.Fatal("keyframe without data")
		}
		spsInfo(sps)
	})
}
