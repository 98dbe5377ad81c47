package stream

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestLadderFeedsByCodec: a rung name in two codecs is two feeds; Rungs and
// Rung keep meaning H.264; a codec's feeds are kept or retired on their
// own; Info lists every feed with its codec.
func TestLadderFeedsByCodec(t *testing.T) {
	st := newStream("x", nil, time.Second)
	if _, err := st.RungFor("", CodecVP8); !errors.Is(err, ErrNotLive) {
		t.Fatalf("before a ladder: %v, want ErrNotLive", err)
	}
	h720 := FeedInfo{Name: "720p", Codec: CodecH264, Width: 1280, Height: 720, FPS: 30, Bitrate: 2_500_000}
	h360 := FeedInfo{Name: "360p", Width: 640, Height: 360, FPS: 30, Bitrate: 800_000} // no codec: H.264
	v720 := FeedInfo{Name: "720p", Codec: CodecVP8, Width: 1280, Height: 720, FPS: 30, Bitrate: 2_500_000}
	v360 := FeedInfo{Name: "360p", Codec: CodecVP8, Width: 640, Height: 360, FPS: 30, Bitrate: 800_000}

	feeds, _ := st.SetLadder([]FeedInfo{h720, h360}, FeedInfo{Name: "audio"})
	if got := st.Codecs(); !slices.Equal(got, []Codec{CodecH264}) {
		t.Fatalf("codecs %v, want [h264]", got)
	}
	if _, err := st.RungFor("", CodecVP8); !errors.Is(err, ErrNoSuchCodec) {
		t.Fatalf("VP8 rung of an H.264-only ladder: %v, want ErrNoSuchCodec", err)
	}

	all, _ := st.SetLadder([]FeedInfo{h720, h360, v720, v360}, FeedInfo{Name: "audio"})
	if all[0] != feeds[0] || all[1] != feeds[1] {
		t.Fatal("adding VP8 feeds replaced the H.264 ones")
	}
	if all[2] == all[0] || all[3] == all[1] {
		t.Fatal("a VP8 rung shares the H.264 rung's feed")
	}
	if got := st.Codecs(); !slices.Equal(got, []Codec{CodecH264, CodecVP8}) {
		t.Fatalf("codecs %v, want [h264 vp8]", got)
	}
	if r := st.Rungs(); len(r) != 2 || r[0] != all[0] || r[1] != all[1] {
		t.Fatalf("Rungs() = %v, want the two H.264 feeds", r)
	}
	if r := st.RungsFor(CodecVP8); len(r) != 2 || r[0] != all[2] || r[1] != all[3] {
		t.Fatalf("RungsFor(vp8) = %v, want the two VP8 feeds", r)
	}
	for _, tc := range []struct {
		name  string
		codec Codec
		want  *Feed
	}{
		{"", CodecH264, all[0]}, {"360p", CodecH264, all[1]}, {"", CodecVP8, all[2]}, {"360p", CodecVP8, all[3]}, {"", "", all[0]},
	} {
		f, err := st.RungFor(tc.name, tc.codec)
		if err != nil || f != tc.want {
			t.Errorf("RungFor(%q, %q) = %v, %v", tc.name, tc.codec, f.Info(), err)
		}
	}
	if f, err := st.Rung("360p"); err != nil || f != all[1] {
		t.Errorf("Rung(360p) = %v, %v, want the H.264 feed", f, err)
	}
	if _, err := st.RungFor("4k", CodecVP8); !errors.Is(err, ErrNoSuchRung) {
		t.Errorf("unknown VP8 rung: %v", err)
	}
	b, err := json.Marshal(st.Info())
	if err != nil {
		t.Fatal(err)
	}
	var in struct {
		Rungs, Feeds []struct{ Name, Codec string }
		Codecs       []string
	}
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	if len(in.Rungs) != 2 || in.Rungs[0].Codec != "h264" || in.Rungs[1].Codec != "" { // as installed
		t.Errorf("info rungs %+v, want the two H.264 ones, as before VP8", in.Rungs)
	}
	if len(in.Feeds) != 4 || in.Feeds[0].Codec != "h264" || in.Feeds[2].Codec != "vp8" || in.Feeds[3].Name != "360p" {
		t.Errorf("info feeds %+v, want the H.264 then the VP8 ones", in.Feeds)
	}
	if !slices.Equal(in.Codecs, []string{"h264", "vp8"}) {
		t.Errorf("info codecs %v, want [h264 vp8]", in.Codecs)
	}

	// VP8 off again: its feeds retire, the H.264 ones stay.
	again, _ := st.SetLadder([]FeedInfo{h720, h360}, FeedInfo{Name: "audio"})
	if again[0] != all[0] || again[1] != all[1] {
		t.Fatal("dropping VP8 replaced the H.264 feeds")
	}
	for _, f := range all[2:] {
		select {
		case <-f.Gone():
		default:
			t.Errorf("VP8 feed %s not retired", f.Info().Name)
		}
	}
	for _, f := range all[:2] {
		select {
		case <-f.Gone():
			t.Errorf("H.264 feed %s retired", f.Info().Name)
		default:
		}
	}
}

// TestVP8OnlySource: a stream whose only video is a VP8 source feed offers
// VP8 and no H.264 rung.
func TestVP8OnlySource(t *testing.T) {
	st := newStream("x", nil, time.Second)
	st.SetLadder([]FeedInfo{{Name: "source", Codec: CodecVP8, Width: 640, Height: 480}}, FeedInfo{Name: "audio"})
	if got := st.Codecs(); !slices.Equal(got, []Codec{CodecVP8}) {
		t.Fatalf("codecs %v, want [vp8]", got)
	}
	if _, err := st.Rung(""); !errors.Is(err, ErrNoSuchCodec) {
		t.Fatalf("H.264 rung: %v, want ErrNoSuchCodec", err)
	}
	if len(st.Rungs()) != 0 {
		t.Fatal("Rungs() lists a VP8 feed")
	}
	if f, err := st.RungFor("source", CodecVP8); err != nil || f.Info().Name != "source" {
		t.Fatalf("VP8 source: %v", err)
	}
}
