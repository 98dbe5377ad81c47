package webrtc

import "errors"

// frameCodec rebuilds one video frame from its RTP payloads.
type frameCodec interface {
	// push adds a payload; an error makes the frame unusable.
	push(payload []byte) error
	// isFrameStart reports whether payload visibly begins a frame.
	isFrameStart(payload []byte) bool
	// finish returns the frame (nil when there is nothing to decode) and
	// whether it is a keyframe, and gets ready for the next one.
	finish() (data []byte, keyframe bool, err error)
	reset()
}

// Reasons a frame is dropped, as counted in WHIPFramesDropped.
const (
	dropIncomplete    = "incomplete"     // a packet of it was lost
	dropCorrupt       = "corrupt"        // its payloads did not parse
	dropAwaitKeyframe = "await_keyframe" // it depends on a frame that was dropped, or none was seen yet
	dropTooLarge      = "too_large"
)

// frame is one whole video frame.
type frame struct {
	ts   uint32 // RTP timestamp
	data []byte
	key  bool
}

// assembler cuts one video track's in-order packets into frames, at an
// RTP timestamp change or a marker bit, and keeps only whole ones: after a
// loss, the frame it touched and those after it are dropped up to the next
// keyframe. It does no I/O; the owner reads its results.
type assembler struct {
	codec frameCodec

	active bool   // a frame is being built
	ts     uint32 // its RTP timestamp
	broken bool   // it lost a packet or did not parse
	reason string // why it is broken

	lossPending bool // packets were lost since the last packet
	lastTS      uint32
	haveLast    bool
	needKey     bool // drop frames up to the next keyframe

	frames []frame
	drops  []string // reasons, one per dropped frame
	// wantKey is set when a frame was dropped for loss or corruption: the
	// publisher should send a keyframe. The owner clears it.
	wantKey string
}

func newAssembler(c frameCodec) *assembler {
	return &assembler{codec: c, needKey: true}
}

// loss tells the assembler that packets before the next one were given up on.
func (a *assembler) loss() {
	a.lossPending = true
	a.needKey = true
	// The frames up to the next keyframe are dropped: ask for it now, even
	// when the loss took whole frames and none is seen broken.
	a.wantKey = lossReason(dropIncomplete)
	if a.active && !a.broken {
		a.broken, a.reason = true, dropIncomplete
	}
}

// packet adds the next packet in sequence order.
func (a *assembler) packet(ts uint32, marker bool, payload []byte) {
	if a.active && ts != a.ts {
		a.finish()
	}
	if !a.active {
		a.active, a.ts, a.broken, a.reason = true, ts, false, ""
		a.codec.reset()
		// The lost packets may have been this frame's first ones, unless
		// it visibly starts here with a new timestamp.
		if a.lossPending && !(a.codec.isFrameStart(payload) && (!a.haveLast || ts != a.lastTS)) {
			a.broken, a.reason = true, dropIncomplete
		}
	}
	a.lossPending = false
	a.lastTS, a.haveLast = ts, true
	if !a.broken {
		if err := a.codec.push(payload); err != nil {
			a.broken, a.reason = true, dropCorrupt
			if errors.Is(err, errFrameTooLarge) {
				a.reason = dropTooLarge
			}
		}
	}
	if marker {
		a.finish()
	}
}

// finish ends the frame being built: kept, or dropped with a reason.
func (a *assembler) finish() {
	if !a.active {
		return
	}
	a.active = false
	if a.broken {
		a.codec.reset()
		a.drop(a.reason)
		a.needKey = true
		a.wantKey = lossReason(a.reason)
		return
	}
	data, key, err := a.codec.finish()
	switch {
	case err != nil:
		a.drop(dropCorrupt)
		a.needKey = true
		a.wantKey = "corrupt"
	case data == nil:
		// Parameter sets alone: kept by the codec for the next keyframe.
	case a.needKey && !key:
		a.drop(dropAwaitKeyframe)
	default:
		a.needKey = false
		a.frames = append(a.frames, frame{ts: a.ts, data: data, key: key})
	}
}

func lossReason(drop string) string {
	if drop == dropIncomplete {
		return "loss"
	}
	return "corrupt"
}

func (a *assembler) drop(reason string) {
	a.drops = append(a.drops, reason)
}

// take returns the frames and drops since the last call.
func (a *assembler) take() (frames []frame, drops []string) {
	frames, drops = a.frames, a.drops
	a.frames, a.drops = nil, nil
	return frames, drops
}
