package transcode

import (
	"log/slog"
	"time"

	"github.com/mutstream/mutstream/stream"
)

// newVP8Twin opens the VP8 twin of rung r, which is encoded at w x h from
// the scaled pictures of the rung it belongs to (rungEncoder.vp8). It
// shares its rung's decimation and scheduled keyframes, and has its own
// on-demand keyframes, pause and bitrate (rung_viewers.go).
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
	}
	var err error
	if e.cc, err = openVP8Encoder(w, h, r.FPS, r.Bitrate, cfg.VP8); err != nil {
		log.Warn("no VP8 twin for the rung: libvpx did not open", "rung", r.Name, "err", err)
		return nil, err
	}
	if e.pkt, err = allocPacket(); err != nil {
		e.close()
		return nil, err
	}
	e.v = newRungViewers(streamName, r.Rung, stream.CodecVP8, cfg)
	e.v.paused, e.v.pausedAt = true, time.Now() // until its first viewer
	e.v.mPaused.Set(1)
	return e, nil
}

// reopenVP8 reopens a VP8 twin's encoder at the bitrate its viewers were
// last retuned to (reopenBps), just before a frame that is a keyframe
// anyway. On failure the old encoder goes on at its old bitrate.
func (e *rungEncoder) reopenVP8() {
	if e.codec != stream.CodecVP8 || e.reopenBps <= 0 {
		return
	}
	bps := e.reopenBps
	e.reopenBps = 0
	cc, err := openVP8Encoder(e.w, e.h, e.rung.FPS, bps, e.cfg.VP8)
	if err != nil {
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
