package transcode

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/mutstream/mutstream/stream"
)

// SPSs written by x264 for a 640x360 test pattern.
var testSPS = []struct {
	name     string
	hex      string
	playable bool
}{
	{"constrained baseline", "6742c01eda0280bfe5c044000003000400000300f03c58ba80", true},
	{"high, no B-frames (VUI: no reordering)", "6764001eacb405017fcb8088000003000800000301e078b175", true},
	{"high, 2 B-frames", "6764001eacd940a02ff970110000030001000003003c0f162d96", false},
	{"main, 2 B-frames", "674d401eeca05017fcb80880000003008000001e078b16cb", false},
	{"high 10", "676e001ea6cb405017fcb80880000003008000001e078b1750", false},
}

func TestInspectSPS(t *testing.T) {
	for _, tc := range testSPS {
		nalu, err := hex.DecodeString(tc.hex)
		if err != nil {
			t.Fatal(err)
		}
		sh := inspectSPS(nalu)
		if sh.playable != tc.playable || sh.width != 640 || sh.height != 360 {
			t.Errorf("%s: %+v, want playable=%v 640x360", tc.name, sh, tc.playable)
		}
		if !sh.playable && sh.why == "" {
			t.Errorf("%s: no reason given", tc.name)
		}
		// The same SPS found in an Annex-B keyframe.
		au := append([]byte{0, 0, 0, 1, 9, 0xf0, 0, 0, 0, 1}, nalu...)
		au = append(au, 0, 0, 1, 0x68, 0xce, 0x38, 0x80, 0, 0, 1, 0x65, 0x88, 0x84)
		if got := findSPS(au); hex.EncodeToString(got) != tc.hex {
			t.Errorf("%s: findSPS = %x", tc.name, got)
		}
	}
	if findSPS([]byte{0, 0, 1, 0x65, 1, 2}) != nil || findSPS([]byte{1, 2, 3}) != nil {
		t.Error("findSPS found an SPS where there is none")
	}
	if sh := inspectSPS([]byte{0x67, 0x42}); sh.playable || sh.why == "" {
		t.Errorf("truncated SPS: %+v", sh)
	}
}

func TestBrowserPlayable(t *testing.T) {
	restrict := func(n uint32) *h264.SPS_VUI {
		return &h264.SPS_VUI{BitstreamRestriction: &h264.SPS_BitstreamRestriction{MaxNumReorderFrames: n}}
	}
	for _, tc := range []struct {
		name string
		sps  h264.SPS
		want bool
	}{
		{"baseline", h264.SPS{ProfileIdc: 66, ChromaFormatIdc: 1, FrameMbsOnlyFlag: true}, true},
		{"main, no VUI", h264.SPS{ProfileIdc: 77, ChromaFormatIdc: 1, FrameMbsOnlyFlag: true}, false},
		{"main, VUI without restriction", h264.SPS{ProfileIdc: 77, ChromaFormatIdc: 1, FrameMbsOnlyFlag: true, VUI: &h264.SPS_VUI{}}, false},
		{"high, reorder 0", h264.SPS{ProfileIdc: 100, ChromaFormatIdc: 1, FrameMbsOnlyFlag: true, VUI: restrict(0)}, true},
		{"high, reorder 2", h264.SPS{ProfileIdc: 100, ChromaFormatIdc: 1, FrameMbsOnlyFlag: true, VUI: restrict(2)}, false},
		{"high 4:4:4", h264.SPS{ProfileIdc: 244, ChromaFormatIdc: 3, FrameMbsOnlyFlag: true, VUI: restrict(0)}, false},
		{"interlaced", h264.SPS{ProfileIdc: 77, ChromaFormatIdc: 1, VUI: restrict(0)}, false},
	} {
		if got, why := browserPlayable(&tc.sps); got != tc.want || (!got && why == "") {
			t.Errorf("%s: %v (%q), want %v", tc.name, got, why, tc.want)
		}
	}
}

func TestSourceObserve(t *testing.T) {
	key := func(spsHex string, pts time.Duration) *stream.Packet {
		sps, _ := hex.DecodeString(spsHex)
		data := append([]byte{0, 0, 0, 1}, sps...)
		data = append(data, 0, 0, 1, 0x68, 0xce, 0x38, 0x80, 0, 0, 1, 0x65, 0x88, 0x84)
		return &stream.Packet{Kind: stream.KindVideo, PTS: pts, DTS: pts, Keyframe: true, Data: data}
	}
	delta := func(pts time.Duration) *stream.Packet {
		return &stream.Packet{Kind: stream.KindVideo, PTS: pts, Data: []byte{0, 0, 1, 0x41, 0x9a}}
	}
	s := &sourceRung{h264: true, allowed: true, on: true, keys: newKeyLimiter(0, func() {})}
	if !s.pending() || s.wanted() {
		t.Fatal("before the first keyframe: want pending, not wanted")
	}
	steps := []struct {
		pkt     *stream.Packet
		changed bool
		wanted  bool
	}{
		{key(testSPS[0].hex, 0), true, true},
		{delta(33 * time.Millisecond), false, true},
		{delta(66*time.Millisecond - time.Millisecond/2), false, true}, // rounding jitter
		{key(testSPS[0].hex, 100*time.Millisecond), false, true},       // same SPS
		{delta(200 * time.Millisecond), false, true},
		{delta(133 * time.Millisecond), true, false}, // reordered: B-frames
		{delta(166 * time.Millisecond), false, false},
		{key(testSPS[0].hex, 300*time.Millisecond), false, false}, // same SPS: still out
		{key(testSPS[2].hex, 400*time.Millisecond), true, false},  // new SPS, B-frames
		{key(testSPS[1].hex, 500*time.Millisecond), true, true},   // new SPS, no reordering
		{delta(10 * time.Second), false, true},
		{delta(5 * time.Second), false, true}, // discontinuity, not reordering
	}
	for i, st := range steps {
		if got := s.observe(st.pkt); got != st.changed || s.wanted() != st.wanted {
			t.Fatalf("step %d: changed %v wanted %v (%s); want %v %v", i, got, s.wanted(), s.why(), st.changed, st.wanted)
		}
	}
	s.on = false
	if s.wanted() {
		t.Error("wanted while switched off")
	}
}
