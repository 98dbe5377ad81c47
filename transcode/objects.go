package transcode

import (
	"sync/atomic"

	"github.com/asticode/go-astiav"
)

// liveObjects counts FFmpeg objects allocated by this package and not yet
// freed: decoders, encoders, scalers, filter graphs, frames, packets.
var liveObjects atomic.Int64

// LiveObjects returns how many FFmpeg objects this package holds now; it is
// zero once every Pipeline and Demo is closed.
func LiveObjects() int64 { return liveObjects.Load() }

// tracked counts x in when it is not nil and returns it.
func tracked[T any](x *T) *T {
	if x != nil {
		liveObjects.Add(1)
	}
	return x
}

// free frees x and counts it out; nil is a no-op.
func free[T any, P interface {
	*T
	Free()
}](x P) {
	if x != nil {
		x.Free()
		liveObjects.Add(-1)
	}
}

func allocFrame() (*astiav.Frame, error) {
	f := tracked(astiav.AllocFrame())
	if f == nil {
		return nil, ErrFFmpeg
	}
	return f, nil
}

func allocPacket() (*astiav.Packet, error) {
	p := tracked(astiav.AllocPacket())
	if p == nil {
		return nil, ErrFFmpeg
	}
	return p, nil
}
