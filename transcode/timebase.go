package transcode

import (
	"time"

	"github.com/asticode/go-astiav"
)

var (
	// videoTimeBase is the 90 kHz clock of every video packet and frame.
	videoTimeBase = astiav.NewRational(1, 90000)
	nanoTimeBase  = astiav.NewRational(1, int(time.Second))
)

// toTicks converts d into units of tb.
func toTicks(d time.Duration, tb astiav.Rational) int64 {
	return astiav.RescaleQ(int64(d), nanoTimeBase, tb)
}

// toDuration converts ticks of tb into a Duration.
func toDuration(ticks int64, tb astiav.Rational) time.Duration {
	return time.Duration(astiav.RescaleQ(ticks, tb, nanoTimeBase))
}
