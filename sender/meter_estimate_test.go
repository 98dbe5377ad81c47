package sender

import (
	"strings"
	"testing"
	"time"
)

func TestMeterEstimate(t *testing.T) {
	for _, tc := range []struct {
		delivered, initial int
		queue              time.Duration
		est                int
		overuse            bool
	}{
		{0, 1_500_000, 0, 1_500_000, false},                           // nothing measured yet: the initial estimate
		{800_000, 1_500_000, 10 * time.Millisecond, 1_200_000, false}, // 1.5x what got through
		{800_000, 1_500_000, 25 * time.Millisecond, 1_200_000, true},  // half the standing queue
	} {
		est, over := meterEstimate(tc.delivered, tc.initial, tc.queue, 50*time.Millisecond)
		if est != tc.est || over != tc.overuse {
			t.Errorf("meterEstimate(%d, %d, %v) = %d, %v; want %d, %v", tc.delivered, tc.initial, tc.queue, est, over, tc.est, tc.overuse)
		}
	}
}

func TestConfigEstimatorNamed(t *testing.T) {
	c := DefaultConfig()
	c.Estimator = "kalman"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "estimator") {
		t.Fatalf("an unknown estimator gave %v, want an error naming the key", err)
	}
	c.Estimator = EstimatorMeter
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
