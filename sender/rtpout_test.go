package sender

import (
	"bytes"
	"testing"
	"time"
)

func TestPlayoutDelay(t *testing.T) {
	for _, tc := range []struct {
		min, max time.Duration
		want     []byte
	}{
		{0, 0, []byte{0, 0, 0}},
		{100 * time.Millisecond, 400 * time.Millisecond, []byte{0x00, 0xa0, 0x28}},
		{40950 * time.Millisecond, 40950 * time.Millisecond, []byte{0xff, 0xff, 0xff}},
	} {
		if got := playoutDelay(tc.min, tc.max); !bytes.Equal(got, tc.want) {
			t.Errorf("playoutDelay(%v, %v) = %x, want %x", tc.min, tc.max, got, tc.want)
		}
	}
}

func TestRTPTimestampsContinuous(t *testing.T) {
	o := &rtpOut{clock: 90000, step: 3000, lastTS: 1000}
	ts0 := o.timestamp(0)
	ts1 := o.timestamp(33 * time.Millisecond)
	if ts0 != 1000 || ts1-ts0 != 2970 {
		t.Fatalf("ts %d %d", ts0, ts1)
	}
	// A new publisher starts its clock at zero again: no jump backwards.
	ts2 := o.timestamp(0)
	if ts2-ts1 != 3000 {
		t.Fatalf("after a restart the step is %d, want 3000", ts2-ts1)
	}
	// A gap of more than two seconds is closed too.
	ts3 := o.timestamp(10 * time.Second)
	if ts3-ts2 != 3000 {
		t.Fatalf("after a gap the step is %d", ts3-ts2)
	}
	ts4 := o.timestamp(10*time.Second + 40*time.Millisecond)
	if ts4-ts3 != 3600 {
		t.Fatalf("normal step %d", ts4-ts3)
	}
}
