package signaling

import (
	"testing"
	"time"

	"github.com/mutstream/mutstream/stream"
)

// TestSourceRungRate: the source rung's stand-in bitrate is its measured
// rate once known, and 20 % over the top transcoded rung before.
func TestSourceRungRate(t *testing.T) {
	src := stream.NewFeed(stream.FeedInfo{Name: "source", Width: 640, Height: 360})
	feeds := []*stream.Feed{src, stream.NewFeed(stream.FeedInfo{Name: "360p", Width: 640, Height: 360, Bitrate: 800_000})}
	if r := adaptRungs(feeds, 0); r[0].Bitrate != 960_000 || r[1].Bitrate != 800_000 {
		t.Fatalf("stand-in before a measure: %+v", r)
	}
	var rate sourceRate
	now := time.Now()
	got := 0
	for i := 0; i < 6; i++ {
		got = rate.sample(feeds, now)
		// 2 Mb/s: 250 kB a second.
		for j := 0; j < 250; j++ {
			src.Write(&stream.Packet{Data: make([]byte, 1000)})
		}
		now = now.Add(time.Second)
	}
	if got < 1_900_000 || got > 2_100_000 {
		t.Fatalf("measured %d b/s, want about 2 Mb/s", got)
	}
	if r := adaptRungs(feeds, got); r[0].Bitrate != got {
		t.Fatalf("source rung at %d b/s, want the measured rate", r[0].Bitrate)
	}
}
