package transcode

import (
	"bytes"
	"math"
	"time"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// SourceRungName names the rung that forwards the publisher's video as it is.
const SourceRungName = "source"

// A backwards step of PTS in decode order between these bounds counts as
// frame reordering: a smaller one is rounding, a larger one a timestamp
// discontinuity.
const (
	minReorderGap = 2 * time.Millisecond
	maxReorderGap = 2 * time.Second
)

// sourceRung watches the publisher's H.264 and, while browsers can play it
// as it is, forwards every packet unchanged into the ladder's top feed.
// Only the pipeline goroutine uses it; keys is safe from any goroutine.
type sourceRung struct {
	codec   stream.Codec // the source's: H.264 or VP8 may be forwarded
	h264    bool         // the source is H.264: its SPS is watched
	vp8     bool         // the source is VP8: its key frames' size is watched
	allowed bool         // configuration allows a source rung on this stream
	on      bool         // SetSourceRung's last word

	decided bool   // the first keyframe has been looked at
	sps     []byte // the last SPS seen
	shape   spsShape
	reorder bool // PTS went backwards in decode order: B-frames
	lastPTS time.Duration
	havePTS bool
	fps     int

	feed    *stream.Feed
	started bool // feed has been written a keyframe
	keys    *keyLimiter
	// leaveAt: the feed is Leaving (withdrawn while still playable) and
	// leaves the ladder then; zero when it is not leaving.
	leaveAt time.Time

	secFrames, secBytes int
}

func newSourceRung(pub *stream.Publication, vt stream.Track, cfg Config) *sourceRung {
	fps := 0
	if vt.FrameRate > 0 && vt.FrameRate < 1000 {
		fps = int(math.Round(vt.FrameRate))
	}
	h264, vp8 := vt.Codec == stream.CodecH264, vt.Codec == stream.CodecVP8 && cfg.VP8.Enabled
	return &sourceRung{
		codec:   vt.Codec,
		h264:    h264,
		vp8:     vp8,
		allowed: (h264 || vp8) && cfg.sourceRungFor(pub.Stream().Name()),
		on:      true,
		fps:     fps,
		keys:    newKeyLimiter(cfg.KeyframeMinInterval, pub.RequestKeyframe),
	}
}

// pending reports whether the ladder should wait for the first keyframe to
// know whether the source is one of its rungs.
func (s *sourceRung) pending() bool { return s.allowed && s.on && !s.decided }

// eligible reports whether browsers can play the source as it is now.
func (s *sourceRung) eligible() bool { return s.decided && s.shape.playable && !s.reorder }

// wanted reports whether the ladder should hold the source rung now.
func (s *sourceRung) wanted() bool { return s.allowed && s.on && s.eligible() }

// why says why the source is not eligible.
func (s *sourceRung) why() string {
	switch {
	case !s.decided:
		return "no keyframe yet"
	case s.reorder:
		return "timestamps show frame reordering (B-frames)"
	}
	return s.shape.why
}

// info is the source rung's FeedInfo as SetLadder stores it.
func (s *sourceRung) info() stream.FeedInfo {
	return stream.FeedInfo{Name: SourceRungName, Kind: stream.KindVideo, Codec: s.codec,
		Width: s.shape.width, Height: s.shape.height, FPS: s.fps}
}

// observe looks at one source video packet: the SPS of a keyframe, and the
// order of timestamps. It reports whether eligibility or shape changed.
func (s *sourceRung) observe(pkt *stream.Packet) bool {
	if s.vp8 {
		return s.observeVP8(pkt)
	}
	if !s.h264 {
		return false
	}
	changed := false
	if pkt.Keyframe {
		s.keys.keyframe()
		sps := findSPS(pkt.Data)
		if !s.decided || (sps != nil && !bytes.Equal(sps, s.sps)) {
			s.decided, s.reorder, changed = true, false, true
			if sps == nil {
				s.shape = spsShape{why: "no SPS before the first IDR"}
			} else {
				s.sps = append(s.sps[:0], sps...)
				s.shape = inspectSPS(s.sps)
			}
		}
	}
	if back := s.lastPTS - pkt.PTS; s.havePTS && !s.reorder && back >= minReorderGap && back < maxReorderGap {
		s.reorder, changed = true, true
	}
	s.lastPTS, s.havePTS = pkt.PTS, true
	return changed
}

// attach makes f the source feed, or detaches the current one when f is
// nil.
func (s *sourceRung) attach(f *stream.Feed, streamName string) {
	if f == s.feed {
		return
	}
	if s.feed != nil {
		s.feed.SetKeyframeRequester(nil)
		metrics.RungFPS.DeleteLabelValues(streamName, SourceRungName, string(s.codec))
		metrics.RungBitrate.DeleteLabelValues(streamName, SourceRungName, string(s.codec))
	}
	s.feed, s.started = f, false
	s.secFrames, s.secBytes = 0, 0
	if f != nil {
		f.SetKeyframeRequester(s.keys.request)
	}
}

// write forwards pkt, unchanged, from the first keyframe on.
func (s *sourceRung) write(pkt *stream.Packet) {
	if s.feed == nil {
		return
	}
	if !s.started {
		if !pkt.Keyframe {
			return
		}
		s.started = true
	}
	s.feed.Write(pkt)
	s.secFrames++
	s.secBytes += len(pkt.Data)
}

// tick publishes the per-second gauges over elapsed time and sends a
// keyframe request that waited.
func (s *sourceRung) tick(streamName string, elapsed time.Duration) {
	s.keys.poll()
	if s.feed == nil || elapsed <= 0 {
		return
	}
	sec := elapsed.Seconds()
	metrics.RungFPS.WithLabelValues(streamName, SourceRungName, string(s.codec)).Set(float64(s.secFrames) / sec)
	metrics.RungBitrate.WithLabelValues(streamName, SourceRungName, string(s.codec)).Set(float64(s.secBytes*8) / sec)
	s.secFrames, s.secBytes = 0, 0
}
