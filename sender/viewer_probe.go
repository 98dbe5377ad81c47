package sender

import (
	"time"

	"github.com/mutstream/mutstream/adapt"
	"github.com/mutstream/mutstream/stream"
)

// checkProbe cuts a probe short as soon as the feedback shows it built a
// queue, between the controller's updates: a probe well over the link's
// rate builds a queue fast.
func (a *viewerAdapt) checkProbe(now time.Time) {
	if a.meter == nil {
		return
	}
	lost := a.meter.takeLost()
	if a.shape.ProbeRate() == 0 {
		return
	}
	if a.shape.ProbeAborts(a.meter.queueNow(), lost) {
		a.shape.CutProbe(adapt.ProbeCut{Now: now, Delivered: a.meter.deliveredNow()})
	}
}

// videoHold is a switch down under a standing queue put off until the queue
// drains: meanwhile no video is sent, and the new rung's keyframe then
// finds room in the queue instead of overflowing it behind the old rung's
// frames (a keyframe lost there is a freeze until the next one).
type videoHold struct {
	target   *stream.Feed // the rung to switch to; nil = no hold
	reason   string
	since    time.Time
	peak     time.Duration // the deepest queue seen while holding
	dropping bool          // the old rung's packets are dropped until the switch
}

// drained says whether the hold may end: the queue predicted for now
// (backlog, when known) is under resume. Without a prediction the latest
// feedback's queue q must have passed its peak (the feedback lags the
// queue by the queue itself) and be under resumeLagged.
func (h *videoHold) drained(q, backlog time.Duration, known bool, resume time.Duration) bool {
	h.peak = max(h.peak, q)
	if known {
		return backlog < resume
	}
	return q < resumeLagged && q < h.peak*9/10
}

// holdDrained says whether h may end now.
func (a *viewerAdapt) holdDrained(h *videoHold, now time.Time) bool {
	backlog, known := a.meter.backlog(now)
	return h.drained(a.meter.queueNow(), backlog, known, a.sc.Hold.Resume)
}

// resumeLagged ends a hold judged on the feedback's lagging queue alone.
const resumeLagged = 400 * time.Millisecond

// switchedDown records a switch down carried out at now (later than
// decided when it was held): the controller's settle time counts from
// here, and goes on while the feedback still tells only of packets sent
// before it (update), whose queue is the old rung's.
func (a *viewerAdapt) switchedDown(now time.Time) {
	a.downAt = now
	a.ctrl.SwitchedDown(now)
}

// stepsDown says whether going from feed from to feed to lowers the
// bitrate: a lower rung, or a frame-rate-capped one.
func (a *viewerAdapt) stepsDown(to, from *stream.Feed) bool {
	return a.rungBitrate(to.Info().Name, to.Info().Bitrate) < a.rungBitrate(from.Info().Name, from.Info().Bitrate)
}

// urgent says the controller should decide now rather than at the next
// tick: the latest feedback shows the link falling, or a queue over limit
// (the controller's DelayDown), and the last decision is at least
// urgentGap old.
func (a *viewerAdapt) urgent(now time.Time, limit time.Duration) bool {
	if a.meter == nil || now.Sub(a.shape.LastUpdate()) < urgentGap {
		return false
	}
	_, fell := a.fell()
	return fell || (limit > 0 && a.meter.queueNow() > limit)
}

// fell says whether the link meter sees the link fall under Fall.Share of
// the rung being sent, and at what rate it now delivers. A probe's padding
// is not the rung's: its queue is the probe's to cut.
func (a *viewerAdapt) fell() (int, bool) {
	if a.meter == nil || a.rungBps <= 0 || a.shape.ProbeRate() > 0 {
		return 0, false
	}
	return a.meter.falling(int(float64(a.rungBps)*a.sc.Fall.Share), a.sc.Fall)
}

// urgentGap is the least time between two decisions.
const urgentGap = 50 * time.Millisecond

// paddingPackets is how many padding packets to send in the next dt to
// bring the video rate up to the probe rate (see adapt.Shaper.PadRate).
func (a *viewerAdapt) paddingPackets(now time.Time, videoBps int, dt time.Duration) int {
	return padCount(a.shape.PadRate(now, videoBps), dt, &a.padCarry)
}

// padCount is how many padding packets carry rate bps for dt. The
// fraction of a packet left over is kept in carry for the next call: at
// short intervals a low rate is under one packet per call.
func padCount(rate int, dt time.Duration, carry *float64) int {
	if rate <= 0 {
		*carry = 0
		return 0
	}
	f := float64(rate)/8*dt.Seconds()/(paddingSize+12) + *carry
	n := int(f)
	*carry = f - float64(n)
	return min(n, 100)
}
