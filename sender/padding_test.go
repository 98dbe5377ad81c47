package sender

import (
	"testing"
	"time"
)

// TestPaddingCarriesFractions: at the loop's short pad interval a low
// probe rate is under one padding packet per call; what is owed carries,
// so the probe pads its rate whatever the interval, in small bursts.
func TestPaddingCarriesFractions(t *testing.T) {
	a := &viewerAdapt{sc: DefaultSenderConfig()}
	now := time.Unix(1000, 0)
	a.probeRate, a.probeStart = 1_000_000, now.Add(-time.Hour) // past the ramp
	const video = 900_000
	sent, most := 0, 0
	for range int(time.Second / padInterval) {
		n := a.paddingPackets(now, video, padInterval)
		sent += n
		most = max(most, n)
	}
	want := 100_000 / 8 / (paddingSize + 12) // 100 kb/s of padding for a second
	if sent < want-1 || sent > want+1 {
		t.Errorf("%d padding packets in a second at 100 kb/s, want %d", sent, want)
	}
	// A 4.6 Mb/s probe over a thin rung: no burst near a 60-packet queue.
	a.probeRate = 4_620_000
	for range 10 {
		most = max(most, a.paddingPackets(now, 250_000, padInterval))
	}
	if most > 15 {
		t.Errorf("a burst of %d padding packets per %s", most, padInterval)
	}
}
