package transcode

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// rungEncoder scales, decimates and encodes the source frames of one rung
// into its feed. The frame-rate-capped variant of a rung has no scaler of
// its own: it is its base rung's low, and encodes some of the frames that
// rung scaled (see encode). Only the pipeline goroutine calls its methods,
// except requestKeyframe.
type rungEncoder struct {
	rung plannedRung
	feed *stream.Feed
	w, h int

	// low is this rung's frame-rate-capped variant, nil when it has none.
	low *rungEncoder
	// vp8 is this rung's VP8 twin (rung_vp8.go), nil when VP8 is off: it
	// encodes the frames this rung keeps, from this rung's scaled
	// pictures, into the rung's VP8 feed. A twin has no scaler, no low and
	// no twin of its own; it is freed with this rung.
	vp8 *rungEncoder
	// codec is what cc encodes: CodecH264, or CodecVP8 for a twin.
	codec stream.Codec
	// reopenBps: a VP8 twin reopens its encoder at this bitrate at its
	// next keyframe (libvpx ignores a bitrate set after Open); 0 when none.
	reopenBps int
	// openRetry: a VP8 twin whose encoder did not open tries again from
	// then on.
	openRetry time.Time
	// log is a VP8 twin's, for a reopen that fails (nil otherwise).
	log *slog.Logger

	cfg     Config
	cc      *astiav.CodecContext
	encoder string // h264_nvenc or libx264
	sws     *astiav.SoftwareScaleContext
	scaled  *astiav.Frame
	pkt     *astiav.Packet
	dev     rungDevice // frames in device memory (rung_device.go)

	srcW, srcH int
	srcFmt     astiav.PixelFormat

	// Decimation by PTS, in 90 kHz ticks.
	step    int64
	next    int64
	hasNext bool

	// Keyframes.
	keyReq      atomic.Bool
	reqCounted  bool
	lastIDR     int64
	haveIDR     bool
	minKeyTicks int64

	// Per-second gauges.
	secFrames, secBytes int

	// Viewers: pause and bitrate retune (rung_viewers.go).
	v rungViewers

	encFrames  prometheus.Counter
	encBytes   prometheus.Counter
	encSeconds prometheus.Observer
	fanout     time.Duration // of the current send, spent in the feed's writes
}

func newRungEncoder(streamName string, r plannedRung, feed *stream.Feed, w, h int, cfg Config, hw Hardware, log *slog.Logger) (*rungEncoder, error) {
	e := &rungEncoder{
		rung:        r,
		codec:       stream.CodecH264,
		cfg:         cfg,
		feed:        feed,
		w:           w,
		h:           h,
		step:        90000 / int64(r.FPS),
		minKeyTicks: toTicks(cfg.KeyframeMinInterval, videoTimeBase),
		encFrames:   metrics.EncodedFrames.WithLabelValues(streamName, r.Name, string(stream.CodecH264)),
		encBytes:    metrics.EncodedBytes.WithLabelValues(streamName, r.Name, string(stream.CodecH264)),
		encSeconds:  metrics.EncodeSeconds.WithLabelValues(r.Name, string(stream.CodecH264)),
	}
	var err error
	if e.cc, e.encoder, err = openVideoEncoder(w, h, r.FPS, r.Bitrate, cfg, hw, log.With("rung", r.Name)); err != nil {
		return nil, fmt.Errorf("rung %s: %w", r.Name, err)
	}
	if r.lowFPSOf == "" { // a variant encodes its base rung's scaled frames
		if e.scaled, err = allocFrame(); err != nil {
			e.close()
			return nil, err
		}
	}
	if e.pkt, err = allocPacket(); err != nil {
		e.close()
		return nil, err
	}
	e.v = newRungViewers(streamName, r.Rung, stream.CodecH264, cfg)
	return e, nil
}

// requestKeyframe marks an on-demand IDR as wanted; it never blocks.
func (e *rungEncoder) requestKeyframe() { e.keyReq.Store(true) }

// keep decides whether the frame at pts is encoded on this rung: frames are
// kept at most once per 1/fps, and always when a scheduled keyframe is due.
func (e *rungEncoder) keep(pts int64, scheduledKey bool) bool {
	if e.hasNext && pts < e.next-4*e.step-90000 {
		e.hasNext = false // timestamps went backwards: start over
	}
	if !e.hasNext || pts >= e.next-e.step/4 {
		if !e.hasNext {
			e.next = pts
			e.hasNext = true
		}
		e.next += e.step
		if e.next <= pts {
			e.next = pts + e.step
		}
		return true
	}
	return scheduledKey
}

// wantIDR decides whether the frame at pts is forced to an IDR.
func (e *rungEncoder) wantIDR(pts int64, scheduledKey bool) bool {
	force := scheduledKey || !e.haveIDR
	if e.keyReq.Load() {
		switch {
		case force:
			e.keyReq.Store(false)
		case pts-e.lastIDR >= e.minKeyTicks || pts < e.lastIDR:
			e.keyReq.Store(false)
			force = true
			metrics.KeyframeRequests.WithLabelValues("forced").Inc()
		case !e.reqCounted:
			e.reqCounted = true
			metrics.KeyframeRequests.WithLabelValues("limited").Inc()
		}
	}
	if force {
		e.haveIDR = true
		e.lastIDR = pts
		e.reqCounted = false
	}
	return force
}

// runs says which of a rung's encoders have viewers: the rung's own
// (H.264) and its VP8 twin, and those of its frame-rate-capped variant.
type runs struct {
	h264, vp8, low, lowVP8 bool
}

func (r runs) any() bool { return r.h264 || r.vp8 || r.low || r.lowVP8 }

// encode scales src (whose timestamp is pts, 90 kHz) once when this rung
// keeps the frame, and encodes it with each of this rung's encoders that
// run (its own, its VP8 twin), and with those of its frame-rate-capped
// variant that run when the variant keeps it too. The variant decimates
// this rung's sequence by timestamp as this rung decimates the source
// (keep), to its own lower fps: every other frame of this rung's when its
// fps is even (30 -> 15), and scheduled keyframes always, so IDRs stay
// aligned. A twin encodes exactly the frames its rung (or variant) keeps,
// with the same scheduled keyframes. This rung's sequence is followed
// whenever any of them runs, and a frame none of them would encode is not
// scaled.
func (e *rungEncoder) encode(src *astiav.Frame, pts int64, scheduledKey bool, r runs) error {
	if !e.keep(pts, scheduledKey) {
		return nil
	}
	lowKeep := (r.low || r.lowVP8) && e.low != nil && e.low.keep(pts, scheduledKey)
	if !r.h264 && !r.vp8 && !lowKeep {
		return nil
	}
	scaled, err := e.scale(src)
	if err != nil {
		return err
	}
	var errs [4]error
	if r.h264 {
		errs[0] = e.send(scaled, pts, scheduledKey)
	}
	if r.vp8 && e.vp8 != nil {
		errs[1] = e.vp8.send(scaled, pts, scheduledKey)
	}
	if lowKeep && r.low {
		errs[2] = e.low.send(scaled, pts, scheduledKey)
	}
	if lowKeep && r.lowVP8 && e.low.vp8 != nil {
		errs[3] = e.low.vp8.send(scaled, pts, scheduledKey)
	}
	return errors.Join(errs[:]...)
}

// send encodes the scaled frame f at pts, as an IDR when one is due on
// this rung. The encoder references f only until send returns, except
// NVENC on device frames, which keeps its own reference.
func (e *rungEncoder) send(f *astiav.Frame, pts int64, scheduledKey bool) error {
	if err := e.matchInput(f); err != nil {
		return err
	}
	f.SetPts(pts)
	f.SetKeyFrame(false)
	if e.wantIDR(pts, scheduledKey) {
		e.reopenVP8()
		f.SetPictureType(astiav.PictureTypeI)
	} else {
		f.SetPictureType(astiav.PictureTypeNone)
	}
	start := time.Now()
	if err := e.cc.SendFrame(f); err != nil {
		return fmt.Errorf("rung %s %s: encode: %w", e.rung.Name, e.codec, err)
	}
	e.fanout = 0
	err := drainPackets(e.cc, e.pkt, e.write)
	if e.encSeconds != nil {
		// The encoder's time, not the viewers': a feed's writes send
		// to the viewers that take packets in its goroutine.
		e.encSeconds.Observe((time.Since(start) - e.fanout).Seconds())
	}
	if err != nil {
		return fmt.Errorf("rung %s %s: encode: %w", e.rung.Name, e.codec, err)
	}
	return nil
}

func (e *rungEncoder) write(pkt *astiav.Packet) {
	if e.feed == nil {
		return
	}
	data := pkt.Data() // a copy: feeds share packets among readers
	dur := pkt.Duration()
	if dur <= 0 {
		dur = e.step
	}
	start := time.Now()
	defer func() { e.fanout += time.Since(start) }()
	e.feed.Write(&stream.Packet{
		Kind:     stream.KindVideo,
		PTS:      toDuration(pkt.Pts(), videoTimeBase),
		DTS:      toDuration(pkt.Dts(), videoTimeBase),
		Duration: toDuration(dur, videoTimeBase),
		Keyframe: pkt.Flags().Has(astiav.PacketFlagKey),
		Data:     data,
	})
	if e.encFrames != nil {
		e.encFrames.Inc()
		e.encBytes.Add(float64(len(data)))
	}
	e.secFrames++
	e.secBytes += len(data)
}

// ensureScaler (re)builds the scaler when the source size or format
// changes; the output size stays that of the rung.
func (e *rungEncoder) ensureScaler(src *astiav.Frame) error {
	w, h, pf := src.Width(), src.Height(), src.PixelFormat()
	if e.sws != nil && w == e.srcW && h == e.srcH && pf == e.srcFmt {
		return nil
	}
	free(e.sws)
	e.sws = nil
	sws, err := astiav.CreateSoftwareScaleContext(w, h, pf, e.w, e.h, astiav.PixelFormatYuv420P,
		astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
	if err != nil {
		return fmt.Errorf("rung %s: scaler %dx%d %s -> %dx%d: %w", e.rung.Name, w, h, pf, e.w, e.h, err)
	}
	e.sws = tracked(sws)
	e.srcW, e.srcH, e.srcFmt = w, h, pf
	return nil
}

// tick publishes the per-second gauges over elapsed time.
func (e *rungEncoder) tick(streamName string, elapsed time.Duration) {
	s := elapsed.Seconds()
	if s <= 0 {
		return
	}
	metrics.RungFPS.WithLabelValues(streamName, e.rung.Name, string(e.codec)).Set(float64(e.secFrames) / s)
	metrics.RungBitrate.WithLabelValues(streamName, e.rung.Name, string(e.codec)).Set(float64(e.secBytes*8) / s)
	e.secFrames, e.secBytes = 0, 0
}

func (e *rungEncoder) close() {
	if e.v.mPausedSec != nil {
		e.flushPaused(time.Now())
	}
	if e.vp8 != nil {
		e.vp8.close()
		e.vp8 = nil
	}
	e.closeDevice()
	free(e.sws)
	free(e.scaled)
	free(e.pkt)
	free(e.cc)
	e.sws, e.scaled, e.pkt, e.cc = nil, nil, nil, nil
}

// info is the rung's FeedInfo.
func (e *rungEncoder) info() stream.FeedInfo {
	return stream.FeedInfo{Name: e.rung.Name, Codec: e.codec, Width: e.w, Height: e.h, FPS: e.rung.FPS, Bitrate: e.rung.Bitrate,
		LowFPSOf: e.rung.lowFPSOf}
}
