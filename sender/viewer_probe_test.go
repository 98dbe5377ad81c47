package sender

import (
	"testing"
	"time"

	"github.com/mutstream/mutstream/adapt"
)

// A viewer on the top rung is never sent padding: there is nothing above
// to find room for. One rung lower, the same probe pads.
func TestNoPaddingOnTopRung(t *testing.T) {
	now := time.Now()
	a := &viewerAdapt{sc: DefaultSenderConfig(), rungs: []adapt.Rung{
		{Name: "720p", Bitrate: 2_500_000},
		{Name: "360p", Bitrate: 800_000},
	}}
	a.probeRate, a.probeStart = 3_000_000, now.Add(-time.Second)
	a.setRung("360p", 800_000)
	if n := a.paddingPackets(now, 800_000, padInterval); n == 0 {
		t.Fatal("a probe under the top rung sent no padding: the test shows nothing")
	}
	a.setRung("720p", 2_500_000)
	if n := a.paddingPackets(now, 2_500_000, padInterval); n != 0 {
		t.Fatalf("%d padding packets to a viewer on the top rung", n)
	}
}
