package sender

import (
	"math"
	"time"

	"github.com/mutstream/mutstream/adapt"
	"github.com/mutstream/mutstream/stream"
)

// probe starts, ends and judges probes; the session loop pads up to
// probeRate while it is non-zero. metered says transport-wide feedback
// came in; delivered is the rate the link delivered.
func (a *viewerAdapt) probe(now time.Time, s adapt.Stats, metered bool, delivered int) {
	target := a.ctrl.ProbeTarget()
	if a.onTop() {
		// Nothing above to find room for: padding would only cost.
		target = 0
		if a.probeRate > 0 {
			a.probeRate, a.probeStart = 0, time.Time{}
		}
	}
	pc := a.sc.Probe
	congested := s.Overuse || s.Loss > a.sc.LossCap || (metered && s.QueueDelay > pc.AbortQueue)
	// With feedback a probe goes straight to 10 % past the target (the
	// smoothed estimate only approaches what it is fed, and must reach the
	// target): one that fails shows in the queue within a few hundred
	// milliseconds and is cut short. Without, probes climb in steps of
	// twice the smoothed estimate, so one that fails overloads the link
	// only a little.
	step := func() int {
		if metered {
			return target + target/10
		}
		base := max(a.ctrl.Smoothed(), a.probeOK)
		return min(target+target/10, max(base*2, base+100_000))
	}
	switch {
	case a.probeRate == 0 && target > 0 && !congested && !now.Before(a.probeNext):
		a.probeRate, a.probeStart = step(), now
	case a.probeRate > 0 && congested:
		// Failed: the controller sees any congestion and backs off; a
		// probe cut short on delay waits here.
		if metered && s.Loss <= a.sc.LossCap {
			a.probeCut(now, delivered)
		} else {
			a.probeFailed(now)
		}
	case a.probeRate > 0 && now.Sub(a.probeStart) >= pc.Clean:
		if metered && delivered < a.probeRate*85/100 {
			if now.Sub(a.probeStart) < 2*pc.Clean {
				return // not all through yet
			}
			a.probeFailed(now)
			return
		}
		// Clean: the link carries the probed rate. Hold that long enough
		// for the controller's hold before stepping up.
		a.probeOK, a.probeUntil = a.probeRate, now.Add(pc.Valid)
		a.probeStart, a.probeGap = now, 0
		if target == 0 {
			a.probeRate = 0
		} else {
			a.probeRate = step()
		}
	}
}

// probeFailed ends a probe that built a queue or did not get through, and
// waits before the next.
func (a *viewerAdapt) probeFailed(now time.Time) {
	a.probeRate, a.probeEnded = 0, now
	a.probeGap = min(max(2*a.probeGap, a.sc.Probe.Retry), a.sc.Probe.RetryMax)
	a.probeNext = now.Add(a.probeGap)
}

// checkProbe cuts a probe short as soon as the feedback shows it built a
// queue, between the controller's updates: a probe well over the link's
// rate builds a queue fast.
func (a *viewerAdapt) checkProbe(now time.Time) {
	if a.meter == nil {
		return
	}
	lost := a.meter.takeLost()
	if a.probeRate == 0 {
		return
	}
	// A queue that overflows by packets before it builds delay (small
	// padding packets fill a packet-limited queue fast) shows as loss.
	if a.meter.queueNow() > a.sc.Probe.AbortQueue || lost >= a.sc.Probe.AbortLost {
		a.probeCut(now, a.meter.deliveredNow())
	}
}

// probeCut ends a probe that built a queue. The rate the link delivered
// while the queue built is what it carries: it counts as a probe result
// when above the smoothed estimate.
func (a *viewerAdapt) probeCut(now time.Time, delivered int) {
	if delivered > a.ctrl.Smoothed() {
		a.probeOK, a.probeUntil = delivered, now.Add(a.sc.Probe.Valid)
	}
	a.probeFailed(now)
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
	if a.meter == nil || now.Sub(a.lastUpd) < urgentGap {
		return false
	}
	_, fell := a.fell()
	return fell || (limit > 0 && a.meter.queueNow() > limit)
}

// fell says whether the link meter sees the link fall under Fall.Share of
// the rung being sent, and at what rate it now delivers. A probe's padding
// is not the rung's: its queue is the probe's to cut.
func (a *viewerAdapt) fell() (int, bool) {
	if a.meter == nil || a.rungBps <= 0 || a.probeRate > 0 {
		return 0, false
	}
	return a.meter.falling(int(float64(a.rungBps)*a.sc.Fall.Share), a.sc.Fall)
}

// onTop says whether the viewer is sent the top rung of the ladder.
func (a *viewerAdapt) onTop() bool {
	return len(a.rungs) > 0 && a.rungName == a.rungs[0].Name
}

// urgentGap is the least time between two decisions.
const urgentGap = 50 * time.Millisecond

// paddingPackets is how many padding packets to send in the next dt to
// bring the video rate up to the probe rate.
// The probe's rate ramps up from the video's, doubling every Probe.Ramp,
// so that on a link that cannot carry it the queue starts to build near
// the link's rate and the probe is cut short before it overflows.
func (a *viewerAdapt) paddingPackets(now time.Time, videoBps int, dt time.Duration) int {
	if a.probeRate <= videoBps || a.onTop() {
		return 0
	}
	base := float64(max(videoBps, 100_000))
	target := base * math.Exp2(float64(now.Sub(a.probeStart))/float64(a.sc.Probe.Ramp))
	target = min(target, float64(a.probeRate))
	rate := target - float64(videoBps)
	if rate <= 0 {
		return 0
	}
	n := int(rate / 8 * dt.Seconds() / (paddingSize + 12))
	return min(n, 100)
}
