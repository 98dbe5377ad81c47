package sender

import (
	"testing"
	"time"
)

// TestPaddingCarriesFractions: at the loop's short pad interval a low
// probe rate is under one padding packet per call; what is owed carries,
// so the probe pads its rate whatever the interval, in small bursts.
func TestPaddingCarriesFractions(t *testing.T) {
	var carry float64
	sent := 0
	for range int(time.Second / padInterval) {
		sent += padCount(100_000, padInterval, &carry)
	}
	want := 100_000 / 8 / (paddingSize + 12)
	if sent < want-1 || sent > want+1 {
		t.Errorf("%d padding packets in a second at 100 kb/s, want %d", sent, want)
	}
	// A 4.4 Mb/s probe's padding over a thin rung: no burst near a
	// 60-packet queue.
	most := 0
	for range 10 {
		most = max(most, padCount(4_400_000, padInterval, &carry))
	}
	if most > 15 {
		t.Errorf("a burst of %d padding packets per %s", most, padInterval)
	}
	if padCount(0, padInterval, &carry); carry != 0 {
		t.Errorf("a fraction %.2f carried past the probe's end", carry)
	}
}
