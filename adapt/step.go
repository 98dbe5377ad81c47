package adapt

import "time"

// step moves the automatic choice for one Update; cause is the congestion
// reason of the update ("" = none).
func (c *Controller) step(cause string) {
	n := len(c.rungs)
	now := c.now
	smoothed := c.est.smoothed()
	wasProbing := c.probe > 0 && c.probing
	c.probe = 0

	// An up-switch that outlived its fail window succeeded.
	if c.upPending && now.Sub(c.upSwitchAt) > c.cfg.FailWindow {
		c.upPending = false
		c.probeBackoff = c.cfg.ProbeBackoff
	}
	// A doubled hold returns to HoldUp once its rung held long enough.
	if c.level < n {
		calm := c.heldSince
		if c.hadCongestion && c.lastCongestion.After(calm) {
			calm = c.lastCongestion
		}
		if now.Sub(calm) >= c.cfg.HoldReset {
			delete(c.holdUp, c.rungs[c.level].Name)
		}
	}
	// Audio-only line: under it long enough, with the frame rate capped.
	if smoothed > 0 && float64(smoothed) < float64(c.rungs[n-1].Bitrate)*c.cfg.AudioOnlyRatio {
		if c.belowSince.IsZero() {
			c.belowSince = now
		}
	} else {
		c.belowSince = time.Time{}
	}
	if c.level == n && !c.belowSince.IsZero() && now.Sub(c.belowSince) >= c.cfg.AudioOnlyAfter {
		c.moveDown(n+1, ReasonAudioOnly)
		return
	}

	if cause != "" {
		c.congested(cause, wasProbing)
		return
	}

	if c.followEstimate() {
		return
	}
	c.up(smoothed, wasProbing)
}

// followEstimate steps down at once to the highest level the smoothed
// estimate carries, if that is below the current one (the frame-rate cap
// when no rung fits), and reports whether it moved.
func (c *Controller) followEstimate() bool {
	n := len(c.rungs)
	v := c.est.smoothed()
	if v <= 0 || c.level >= n {
		return false
	}
	// Without congestion a rung is kept while the estimate carries its
	// bitrate: the headroom applies to the choice, not to staying, so an
	// estimate hovering near the line does not flap.
	if float64(v) >= float64(c.rungs[c.level].Bitrate) {
		return false
	}
	fit := c.fitLevel(v)
	if fit <= c.level {
		return false
	}
	reason := ReasonEstimate
	if fit == n {
		reason = ReasonTooThin
	}
	if c.cfg.DelayDown > 0 && c.lastQueue > c.cfg.DelayDown/2 {
		// A queue stands: the feedback will show it growing for a while
		// yet, from what was sent before this step. It is this step's.
		c.congestionDown(fit, reason)
		return true
	}
	c.moveDown(fit, reason)
	return true
}

// congested reacts to congestion: back off a fresh up-switch, end a probe
// that caused it, or step down at least one level.
func (c *Controller) congested(cause string, wasProbing bool) {
	n := len(c.rungs)
	c.upSince = time.Time{}
	if wasProbing {
		// Our own padding likely caused it: stop probing for longer.
		c.probeBackoff = min(2*c.probeBackoff, c.cfg.MaxProbeBackoff)
		c.overuseRun = 0
		c.probeFailed = c.now
	}
	// The queue a failed probe built takes a while to drain: congestion
	// until then is the probe's too, and so is any the sender says is
	// (Stats.Probing: a receiver report of the probe's loss comes late).
	afterProbe := c.probing || (!c.probeFailed.IsZero() && c.now.Sub(c.probeFailed) < max(c.cfg.DownSettle, 2*c.rtt))
	// Congestion from our own probe after an up-switch is the probe's,
	// not the new rung's.
	failedUp := c.upPending && c.level == c.upLevel && !afterProbe
	if c.level >= n {
		// Capped or audio-only: nothing lower to step to on congestion.
		return
	}
	ref := c.est.smoothed()
	if raw := c.est.raw; raw > 0 && (ref == 0 || raw < ref) {
		ref = raw
	}
	target := n
	if ref > 0 {
		target = c.fitLevel(ref)
	}
	if !c.lastDown.IsZero() && c.now.Sub(c.lastDown) < max(c.cfg.DownSettle, 2*c.rtt) {
		// The previous step down has not shown in the feedback yet: only
		// follow the smoothed estimate.
		c.followEstimate()
		return
	}
	target = min(max(target, c.level+1), n)

	switch {
	case failedUp:
		// The up-switch failed: wait twice as long before trying it again.
		name := c.rungs[c.level].Name
		c.holdUp[name] = min(2*c.baseHold(c.level), c.cfg.MaxHoldUp)
		c.congestionDown(target, ReasonBackoff)
	case afterProbe:
		// The probe's padding is gone and its queue drains: a failed probe
		// never takes the media down. Congestion that outlasts it is the
		// link's, and is met then.
	default:
		c.congestionDown(target, cause)
	}
}

// up steps up once the next level has been affordable for its hold, to
// the highest level the estimate then affords (a clean probe may show the
// link carries several rungs more), else asks for a probe towards the top
// rung when allowed.
func (c *Controller) up(smoothed int, wasProbing bool) {
	n := len(c.rungs)
	if c.level == 0 || smoothed <= 0 {
		c.upSince = time.Time{}
		return
	}
	next := c.level - 1
	if c.level == n+1 {
		next = n - 1
	}
	need := int(float64(c.rungAt(next).Bitrate) * c.cfg.UpMargin)
	if smoothed >= need {
		if c.upSince.IsZero() {
			c.upSince, c.upProbed = c.now, c.probed
			switch {
			case c.level >= n:
				c.upReason = ReasonRecovered
			case wasProbing:
				c.upReason = ReasonProbeOK
			default:
				c.upReason = ReasonEstimate
			}
		}
		if c.probed {
			c.upProbed = true // a clean probe confirms the rise under way
		}
		best := next
		for l := next - 1; l >= 0 && smoothed >= int(float64(c.rungs[l].Bitrate)*c.cfg.UpMargin); l-- {
			best = l
		}
		if c.now.Sub(c.upSince) >= c.holdFor(best) {
			c.moveUp(best, c.upReason)
		}
		return
	}
	c.upSince = time.Time{}
	if c.upPending && c.now.Sub(c.upSwitchAt) < c.cfg.ProbeHold {
		return // the new rung runs clean a while before probing on
	}
	if c.hadCongestion && c.now.Sub(c.lastCongestion) < c.probeBackoff {
		return
	}
	c.probe = int(float64(c.rungs[0].Bitrate) * c.cfg.UpMargin)
}

// holdFor returns how long level l must stay affordable before a step up
// to it: its hold, scaled down to ProbeHold when a clean probe found it.
func (c *Controller) holdFor(l int) time.Duration {
	h := c.baseHold(l)
	if c.upProbed {
		h = time.Duration(float64(h) * float64(c.cfg.ProbeHold) / float64(c.cfg.HoldUp))
	}
	return h
}

// baseHold returns level l's hold: HoldUp, or its doubled hold after a
// failed up-switch.
func (c *Controller) baseHold(l int) time.Duration {
	if h, ok := c.holdUp[c.rungAt(l).Name]; ok {
		return h
	}
	return c.cfg.HoldUp
}

// congestionDown goes to the lower level l on congestion and starts the
// settle time.
func (c *Controller) congestionDown(l int, reason string) {
	c.moveDown(l, reason)
	c.lastDown = c.now
	c.peakQueue, c.troughQueue = c.lastQueue, c.lastQueue
}

// moveDown goes to the lower level l.
func (c *Controller) moveDown(l int, reason string) {
	c.level, c.reason = l, reason
	c.heldSince = c.now
	c.upSince = time.Time{}
	c.upPending = false
}

// moveUp goes to the higher level l and opens its fail window.
func (c *Controller) moveUp(l int, reason string) {
	c.level, c.reason = l, reason
	c.heldSince = c.now
	c.upSince = time.Time{}
	c.upPending = true
	c.upSwitchAt = c.now
	c.upLevel = l
}
