package transcode

import (
	"github.com/asticode/go-astiav"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// While nobody watches a transcoded rung (every viewer on the source rung,
// or none at all) and no mutation chain runs, decoding the source serves
// nobody: it was most of an idle stream's CPU. The video path then rests.
// It keeps the source's packets since the rest began or the latest
// keyframe, whichever is later, and when a rung is watched again it
// decodes them first, throwing their pictures away, so that the decoder
// holds the current picture's references and the rung starts at once,
// with an IDR, instead of at the source's next keyframe. Keyframes are
// still decoded (a few milliseconds a GOP), so that a new source size
// re-plans the ladder while nobody watches it.

// maxHeld bounds the packets kept while resting: a source that sends no
// keyframe for this long is decoded again from its next one.
const maxHeld = 1200

// wanted says whether the source must be decoded now: before the ladder
// is set up (its size comes from the first picture), while a chain runs
// (its analysis runs whoever watches), when idle rungs are encoded anyway,
// while a rung or a VP8 twin has a reader, or while a viewer of the source
// rung adapts (it reports a demand): such a viewer may step down at any
// moment, and the rung it steps to must start at once, not after the
// decoding of up to a GOP (a freeze at the drop). A viewer that chose the
// source rung by hand reports none.
func (v *videoPath) wanted() bool {
	if v.rungs == nil || !v.p.installed || v.p.mut.active() || !v.p.cfg.PauseIdleRungs {
		return true
	}
	if f := v.p.src.feed; f != nil {
		if _, n := f.Demand(); n > 0 {
			return true
		}
	}
	for _, e := range v.rungs {
		if e.watched() || (e.vp8 != nil && e.vp8.watched()) {
			return true
		}
	}
	return false
}

// watched says whether e's feed has a reader.
func (e *rungEncoder) watched() bool { return e.feed != nil && e.feed.Readers() > 0 }

// rest keeps pkt for a later wake instead of decoding it, unless it is a
// keyframe: that one is decoded (true), and the packets kept start after
// it.
func (v *videoPath) rest(pkt *stream.Packet) bool {
	if !v.resting {
		v.resting = true
		for _, e := range v.rungs {
			// Pause them now, as a decoded picture would: their
			// resume then starts with an IDR.
			e.idle(v.p.log)
			if e.vp8 != nil {
				e.vp8.idle(v.p.log)
			}
		}
		metrics.SourceDecodeResting.WithLabelValues(v.p.name).Set(1)
		v.p.log.Debug("source not decoded: no transcoded rung is watched")
	}
	if pkt.Keyframe {
		clear(v.held)
		v.held = v.held[:0]
		return true
	}
	if len(v.held) >= maxHeld {
		clear(v.held)
		v.held = v.held[:0]
		v.needKey = true
		return false
	}
	v.held = append(v.held, pkt)
	return false
}

// dropPicture is what wake does with the pictures of the packets kept.
func dropPicture(*astiav.Frame) {}

// wake decodes the packets kept while resting, dropping their pictures;
// false when one did not decode (the path then waits for a keyframe).
func (v *videoPath) wake() bool {
	v.resting = false
	metrics.SourceDecodeResting.WithLabelValues(v.p.name).Set(0)
	held := v.held
	defer func() {
		clear(held)
		v.held = held[:0]
	}()
	for _, q := range held {
		if !v.decode(q, dropPicture) {
			return false
		}
	}
	v.p.log.Debug("source decoded again: a transcoded rung is watched", "caught_up", len(held))
	return true
}
