package stream

import (
	"encoding/json"
	"testing"
	"time"
)

// TestFeedInfoLowFPSOf: a capped variant says which rung it caps, in the
// API's JSON and through SetLadder; every other feed's JSON is as before.
func TestFeedInfoLowFPSOf(t *testing.T) {
	base := FeedInfo{Name: "180p", Kind: KindVideo, Codec: CodecH264, Width: 320, Height: 180, FPS: 15, Bitrate: 250_000}
	b, err := json.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"180p","codec":"h264","width":320,"height":180,"fps":15,"bitrate":250000}`; string(b) != want {
		t.Errorf("rung JSON %s, want %s", b, want)
	}
	low := FeedInfo{Name: "180p-lowfps", Codec: CodecH264, Width: 320, Height: 180, FPS: 7, Bitrate: 125_000, LowFPSOf: "180p"}
	if b, err = json.Marshal(low); err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"180p-lowfps","codec":"h264","width":320,"height":180,"fps":7,"bitrate":125000,"low_fps_of":"180p"}`; string(b) != want {
		t.Errorf("capped rung JSON %s, want %s", b, want)
	}
	var back FeedInfo
	if err := json.Unmarshal(b, &back); err != nil || back.LowFPSOf != "180p" {
		t.Errorf("decoded %+v (%v), want low_fps_of 180p", back, err)
	}

	st := newStream("x", nil, time.Second)
	rungs, _ := st.SetLadder([]FeedInfo{base, low}, FeedInfo{Name: "audio"})
	if got := rungs[1].Info(); got.LowFPSOf != "180p" || got.Kind != KindVideo {
		t.Errorf("capped feed %+v, want low_fps_of 180p, video", got)
	}
	if in := st.Info(); len(in.Rungs) != 2 || in.Rungs[1].LowFPSOf != "180p" || in.Rungs[0].LowFPSOf != "" {
		t.Errorf("stream info rungs %+v", in.Rungs)
	}
	same, _ := st.SetLadder([]FeedInfo{base, low}, FeedInfo{Name: "audio"})
	if same[0] != rungs[0] || same[1] != rungs[1] {
		t.Error("unchanged feeds were replaced")
	}
	// The same name capping another rung is another feed.
	other := low
	other.LowFPSOf = "136p"
	moved, _ := st.SetLadder([]FeedInfo{base, other}, FeedInfo{Name: "audio"})
	if moved[1] == rungs[1] {
		t.Error("a feed whose base rung changed was kept")
	}
	select {
	case <-rungs[1].Gone():
	default:
		t.Error("the replaced capped feed was not retired")
	}
}

// TestFeedRate: the rate written, once a second has passed.
func TestFeedRate(t *testing.T) {
	f := NewFeed(FeedInfo{Name: "source", Kind: KindVideo})
	if f.Rate() != 0 {
		t.Fatal("a rate before anything was written")
	}
	// 10 kB every 50 ms for 4.2 s: 1.6 Mb/s.
	for i := 0; i < 85; i++ {
		if i == 30 && f.Rate() != 0 {
			t.Fatalf("a rate after 1.5 s: %d", f.Rate())
		}
		f.Write(&Packet{Kind: KindVideo, Data: make([]byte, 10_000)})
		time.Sleep(50 * time.Millisecond)
	}
	if r := f.Rate(); r < 1_200_000 || r > 2_000_000 {
		t.Fatalf("rate %d b/s, want about 1.6 Mb/s", r)
	}
}
