package transcode

import (
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// demandShare is the part of the lowest viewer link that a rung's encoder
// targets, leaving room for audio, RTP overhead and retransmissions.
const demandShare = 0.9

// retuneStep is the relative change of target below which an encoder is
// not retuned.
const retuneStep = 0.1

// rungViewers is what a rungEncoder knows of its viewers: whether it is
// paused for lack of them, and the bitrate its encoder targets for them.
// Only the pipeline goroutine uses it.
type rungViewers struct {
	pauseIdle bool    // Config.PauseIdleRungs
	minRatio  float64 // Config.MinBitrateRatio
	quorum    int     // Config.MinViewersToRetune
	demands   []int   // scratch for the viewers' demands

	paused      bool
	pausedAt    time.Time // paused time up to here is counted
	pausedSince time.Time // when the pause began
	target      int       // bps the encoder targets now

	mTarget    prometheus.Gauge
	mViewers   prometheus.Gauge
	mPaused    prometheus.Gauge
	mPausedSec prometheus.Counter
	mRetunes   prometheus.Counter
}

func newRungViewers(streamName string, r Rung, codec stream.Codec, cfg Config) rungViewers {
	c := string(codec)
	v := rungViewers{
		// A VP8 twin is encoded only while watched, whatever the config
		// says of H.264 rungs: a codec nobody needs costs nothing.
		pauseIdle:  cfg.PauseIdleRungs || codec == stream.CodecVP8,
		minRatio:   cfg.MinBitrateRatio,
		quorum:     max(cfg.MinViewersToRetune, 1),
		target:     r.Bitrate,
		mTarget:    metrics.RungTargetBitrate.WithLabelValues(streamName, r.Name, c),
		mViewers:   metrics.RungViewers.WithLabelValues(streamName, r.Name, c),
		mPaused:    metrics.RungPaused.WithLabelValues(streamName, r.Name, c),
		mPausedSec: metrics.RungPausedSeconds.WithLabelValues(streamName, r.Name, c),
		mRetunes:   metrics.RungRetunes.WithLabelValues(streamName, r.Name, c),
	}
	v.mTarget.Set(float64(r.Bitrate))
	v.mPaused.Set(0)
	return v
}

// retuneTarget returns the bitrate an encoder of a rung of the given
// bitrate should target when n of its viewers reported a link and the
// link to fit (quorumDemand) carries minBps: 90 % of it, between
// minRatio x bitrate and bitrate; bitrate itself when there is none.
func retuneTarget(bitrate, minBps, n int, minRatio float64) int {
	if n == 0 || minBps <= 0 {
		return bitrate
	}
	t := int(float64(minBps) * demandShare)
	floor := int(float64(bitrate) * minRatio)
	return min(max(t, floor), bitrate)
}

// quorumDemand returns the link bitrate a rung's encoder should fit and
// how many viewers that takes into account, from the demands of its
// viewers under automatic control (a manual viewer reports none) and the
// number of its readers. A rung with one reader follows it. A shared rung
// follows the quorum-th slowest automatic viewer: fewer slow viewers than
// that never lower it for the others (their controllers move them down
// the ladder), and with fewer than quorum reporting it keeps its bitrate
// (0, 0). demands is sorted in place.
func quorumDemand(demands []int, readers, quorum int) (bps, n int) {
	if len(demands) == 0 {
		return 0, 0
	}
	slices.Sort(demands)
	if readers <= 1 {
		return demands[0], 1
	}
	if len(demands) < quorum {
		return 0, 0
	}
	return demands[quorum-1], len(demands)
}

// needsRetune reports whether an encoder targeting cur should be retuned to
// target: when they differ by more than 10 % of cur, or when target is the
// rung's own bitrate and cur is not (so a rung returns to it exactly).
func needsRetune(cur, target, bitrate int) bool {
	d := target - cur
	if d < 0 {
		d = -d
	}
	return float64(d) > retuneStep*float64(cur) || (target == bitrate && cur != bitrate)
}

// idle reports whether the rung should skip the frame now because nobody
// watches it. Coming back from a pause it readies the next frame as an
// IDR, whatever the on-demand keyframe limiter says, and fits the encoder
// to the viewer that arrived.
func (e *rungEncoder) idle(log *slog.Logger) bool {
	if e.feed == nil {
		return e.codec == stream.CodecVP8 // a twin holds no encoder until watched
	}
	if !e.v.pauseIdle {
		return false
	}
	watched := e.feed.Readers() > 0
	switch {
	case !watched && !e.v.paused:
		now := time.Now()
		e.v.paused, e.v.pausedAt, e.v.pausedSince = true, now, now
		e.v.mPaused.Set(1)
		log.Debug("rung paused: no viewers", "rung", e.rung.Name, "codec", e.codec)
	case watched && e.v.paused:
		if !e.wakeVP8(log) {
			return true // no VP8 encoder: the rung stays paused (logged)
		}
		e.flushPaused(time.Now())
		e.v.paused = false
		e.v.mPaused.Set(0)
		e.haveIDR = false // the next frame is an IDR
		e.hasNext = false // and it is kept, whatever the decimation phase
		e.keyReq.Store(false)
		e.retune(log)
		log.Debug("rung resumed: a viewer arrived", "rung", e.rung.Name, "codec", e.codec)
	}
	return e.v.paused
}

// flushPaused counts the paused time up to now.
func (e *rungEncoder) flushPaused(now time.Time) {
	if !e.v.paused {
		return
	}
	if d := now.Sub(e.v.pausedAt); d > 0 {
		e.v.mPausedSec.Add(d.Seconds())
	}
	e.v.pausedAt = now
}

// retune fits the encoder's bitrate to its viewers' links (quorumDemand).
// It runs between frames on the pipeline goroutine; libx264 picks up the
// new bitrate at its next frame. Maxrate and bufsize stay those of the
// rung (go-astiav v0.16 cannot set them after Open), which only caps the
// lower target from above. libvpx in FFmpeg 5.1 ignores a bitrate set
// after Open (checked), so a VP8 twin is reopened at the new bitrate at
// its next keyframe (scheduled, on demand or on resume: within a GOP).
func (e *rungEncoder) retune(log *slog.Logger) {
	if e.feed == nil || (e.cc == nil && e.codec != stream.CodecVP8) {
		return // a VP8 twin's encoder opens at the target set here
	}
	var readers int
	e.v.demands, readers = e.feed.Demands(e.v.demands[:0])
	bps, n := quorumDemand(e.v.demands, readers, e.v.quorum)
	target := retuneTarget(e.rung.Bitrate, bps, n, e.v.minRatio)
	if !needsRetune(e.v.target, target, e.rung.Bitrate) {
		return
	}
	log.Debug("rung encoder retuned to its viewers", "rung", e.rung.Name,
		"from_bps", e.v.target, "to_bps", target, "viewer_bps", bps, "viewers_reporting", len(e.v.demands), "readers", readers)
	if e.codec == stream.CodecVP8 {
		e.reopenBps = target
	} else {
		e.cc.SetBitRate(int64(target))
	}
	e.v.target = target
	e.v.mTarget.Set(float64(target))
	e.v.mRetunes.Inc()
}

// tickViewers publishes the viewer gauges, counts paused time and, for a
// running rung, retunes its encoder; called once a second.
func (e *rungEncoder) tickViewers(log *slog.Logger, now time.Time) {
	if e.feed != nil {
		e.v.mViewers.Set(float64(e.feed.Readers()))
	}
	if e.v.paused {
		e.flushPaused(now)
		e.closeIdleVP8(now)
		return
	}
	e.retune(log)
}
