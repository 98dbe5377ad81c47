package transcode

import (
	"log/slog"
	"time"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// vp8IdleClose is how long a VP8 twin stays paused before its encoder is
// freed (libvpx holds about 28 MB for 720p): a viewer that switches away
// and back within it finds the encoder open. A variable for tests.
var vp8IdleClose = 5 * time.Second

// vp8RetryOpen is how long a VP8 twin whose encoder did not open waits
// before it tries again.
const vp8RetryOpen = 5 * time.Second

// newVP8Twin returns the VP8 twin of rung r, which is encoded at w x h
// from the scaled pictures of the rung it belongs to (rungEncoder.vp8). It
// shares its rung's decimation and scheduled keyframes, and has its own
// on-demand keyframes, pause and bitrate (rung_viewers.go). It starts
// paused, and its libvpx encoder is opened only when a viewer arrives
// (wakeVP8) and freed once nobody has watched it for vp8IdleClose, so a
// stream without VP8 viewers holds no VP8 encoder.
func newVP8Twin(streamName string, r plannedRung, w, h int, cfg Config, log *slog.Logger) (*rungEncoder, error) {
	e := &rungEncoder{
		rung:        r,
		codec:       stream.CodecVP8,
		cfg:         cfg,
		w:           w,
		h:           h,
		step:        90000 / int64(r.FPS),
		minKeyTicks: toTicks(cfg.KeyframeMinInterval, videoTimeBase),
		encoder:     encoderVP8,
		log:         log,
		encFrames:   metrics.EncodedFrames.WithLabelValues(streamName, r.Name, string(stream.CodecVP8)),
		encBytes:    metrics.EncodedBytes.WithLabelValues(streamName, r.Name, string(stream.CodecVP8)),
		encSeconds:  metrics.EncodeSeconds.WithLabelValues(r.Name, string(stream.CodecVP8)),
	}
	var err error
	if e.pkt, err = allocPacket(); err != nil {
		return nil, err
	}
	e.v = newRungViewers(streamName, r.Rung, stream.CodecVP8, cfg)
	now := time.Now()
	e.v.paused, e.v.pausedAt, e.v.pausedSince = true, now, now // until its first viewer
	e.v.mPaused.Set(1)
	return e, nil
}

// wakeVP8 readies a VP8 twin that a viewer came to: its encoder is opened
// at the bitrate its viewers call for, unless it is still open. It reports
// false when the encoder does not open (logged; retried after
// vp8RetryOpen). It does nothing for an H.264 encoder.
func (e *rungEncoder) wakeVP8(log *slog.Logger) bool {
	if e.codec != stream.CodecVP8 || e.cc != nil {
		return true
	}
	now := time.Now()
	if now.Before(e.openRetry) {
		return false
	}
	e.retune(log) // the target to open at
	cc, err := openVP8Encoder(e.w, e.h, e.rung.FPS, e.v.target, e.cfg.VP8)
	if err != nil {
		e.openRetry = now.Add(vp8RetryOpen)
		log.Warn("VP8 rung cannot start: libvpx did not open", "rung", e.rung.Name, "retry_in", vp8RetryOpen, "err", err)
		return false
	}
	e.cc, e.reopenBps, e.openRetry = cc, 0, time.Time{}
	return true
}

// closeIdleVP8 frees a paused VP8 twin's encoder once it has been paused
// for vp8IdleClose.
func (e *rungEncoder) closeIdleVP8(now time.Time) {
	if e.codec != stream.CodecVP8 || e.cc == nil || now.Sub(e.v.pausedSince) < vp8IdleClose {
		return
	}
	free(e.cc)
	e.cc, e.reopenBps = nil, 0
}

// reopenVP8 reopens a VP8 twin's encoder at the bitrate its viewers were
// last retuned to (reopenBps), just before a frame that is a keyframe
// anyway. On failure the old encoder goes on at its old bitrate, which
// the target (and its gauge) says again, and the failure is logged.
func (e *rungEncoder) reopenVP8() {
	if e.codec != stream.CodecVP8 || e.reopenBps <= 0 {
		return
	}
	bps := e.reopenBps
	e.reopenBps = 0
	cc, err := openVP8Encoder(e.w, e.h, e.rung.FPS, bps, e.cfg.VP8)
	if err != nil {
		old := int(e.cc.BitRate())
		e.log.Warn("VP8 rung not retuned: libvpx did not reopen; it goes on at its bitrate", "rung", e.rung.Name, "bps", old, "wanted_bps", bps, "err", err)
		e.v.target = old
		e.v.mTarget.Set(float64(old))
		return
	}
	free(e.cc)
	e.cc = cc
}

// twinRunning reports whether e has a VP8 twin that encodes now.
func (e *rungEncoder) twinRunning() bool { return e.vp8 != nil && !e.vp8.v.paused }

// twin returns the encoder of this rung that encodes codec c: the rung
// itself for H.264, its VP8 twin for VP8 (nil when it has none).
func (e *rungEncoder) twin(c stream.Codec) *rungEncoder {
	switch c {
	case e.codec:
		return e
	case stream.CodecVP8:
		return e.vp8
	}
	return nil
}
