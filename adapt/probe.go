package adapt

import (
	"math"
	"time"
)

// ProbeRate returns the rate being probed in bps: the sender pads up to
// it (PadRate); 0 when not probing.
func (h *Shaper) ProbeRate() int { return h.probeRate }

// ProbeOK returns the rate the latest clean probe showed the link carries.
func (h *Shaper) ProbeOK() int { return h.probeOK }

// probe starts, ends and judges probes; the sender pads up to probeRate
// while it is non-zero. metered says transport-wide feedback came in;
// delivered is the rate the link delivered.
func (h *Shaper) probe(now time.Time, s Stats, metered bool, delivered int) {
	target := h.ctrl.ProbeTarget()
	if h.onTop {
		// Nothing above to find room for: padding would only cost.
		target = 0
		h.probeRate = 0
	}
	pc := h.cfg.Probe
	congested := s.Overuse || s.Loss > h.cfg.LossCap || (metered && s.QueueDelay > pc.AbortQueue)
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
		base := max(h.ctrl.Smoothed(), h.probeOK)
		return min(target+target/10, max(base*2, base+100_000))
	}
	switch {
	case h.probeRate == 0 && target > 0 && !congested && !now.Before(h.probeNext):
		h.probeRate, h.probeStart = step(), now
	case h.probeRate > 0 && congested:
		// Failed: the controller sees any congestion and backs off; a
		// probe cut short on delay waits here.
		if metered && s.Loss <= h.cfg.LossCap {
			h.CutProbe(ProbeCut{Now: now, Delivered: delivered})
		} else {
			h.probeFailed(now)
		}
	case h.probeRate > 0 && now.Sub(h.probeStart) >= pc.Clean:
		if metered && delivered < h.probeRate*85/100 {
			if now.Sub(h.probeStart) < 2*pc.Clean {
				return // not all through yet
			}
			h.probeFailed(now)
			return
		}
		// Clean: the link carries the probed rate. Hold that long enough
		// for the controller's hold before stepping up.
		h.probeOK, h.probeUntil = h.probeRate, now.Add(pc.Valid)
		h.probeStart, h.probeGap = now, 0
		if target == 0 {
			h.probeRate = 0
		} else {
			h.probeRate = step()
		}
	}
}

// probeFailed ends a probe that built a queue or did not get through, and
// waits before the next.
func (h *Shaper) probeFailed(now time.Time) {
	h.probeRate, h.probeEnded = 0, now
	h.probeGap = min(max(2*h.probeGap, h.cfg.Probe.Retry), h.cfg.Probe.RetryMax)
	h.probeNext = now.Add(h.probeGap)
}

// ProbeAborts says whether a probe runs and the feedback shows it built a
// queue (the standing queue now) or, with lost packets reported lost since
// the previous look (20 ms before), overflowed one: the sender then cuts
// it short with CutProbe, between the controller's updates. A probe well
// over the link's rate builds a queue fast.
func (h *Shaper) ProbeAborts(queue time.Duration, lost int) bool {
	// A queue that overflows by packets before it builds delay (small
	// padding packets fill a packet-limited queue fast) shows as loss.
	return h.probeRate > 0 && (queue > h.cfg.Probe.AbortQueue || lost >= h.cfg.Probe.AbortLost)
}

// CutProbe ends a probe that built a queue. The rate the link delivered
// while the queue built is what it carries: it counts as a probe result
// when above the smoothed estimate.
func (h *Shaper) CutProbe(c ProbeCut) {
	if c.Delivered > h.ctrl.Smoothed() {
		h.probeOK, h.probeUntil = c.Delivered, c.Now.Add(h.cfg.Probe.Valid)
	}
	h.probeFailed(c.Now)
}

// probeOwns says whether congestion now is the probe's own: a probe runs,
// or ended within Probe.Drain, or the loss reported at lossAt is a probe's.
func (h *Shaper) probeOwns(now time.Time, loss float64, lossAt time.Time) bool {
	return h.probeRate > 0 || (!h.probeEnded.IsZero() && now.Sub(h.probeEnded) < h.cfg.Probe.Drain) || h.probeLoss(loss, lossAt)
}

// probeLoss says whether loss over the cap is a probe's: the receiver
// report that tells of it came within Probe.Drain of the probe's end, so
// it covers the probe's time (the report stays in force until the next,
// about a second later, which may be past the drain).
func (h *Shaper) probeLoss(loss float64, at time.Time) bool {
	if loss <= h.cfg.LossCap || h.probeEnded.IsZero() {
		return false
	}
	return !at.After(h.probeEnded.Add(h.cfg.Probe.Drain))
}

// PadRate is the padding rate, in bps, to add to video sent at videoBps
// to bring it up to the probe rate now. The probe's rate ramps up from the
// video's, doubling every Probe.Ramp, so that on a link that cannot carry
// it the queue starts to build near the link's rate and the probe is cut
// short before it overflows.
func (h *Shaper) PadRate(now time.Time, videoBps int) int {
	if h.probeRate <= videoBps || h.onTop {
		return 0
	}
	base := float64(max(videoBps, 100_000))
	target := base * math.Exp2(float64(now.Sub(h.probeStart))/float64(h.cfg.Probe.Ramp))
	target = min(target, float64(h.probeRate))
	return max(int(target-float64(videoBps)), 0)
}
