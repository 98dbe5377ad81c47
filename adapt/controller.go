package adapt

import (
	"fmt"
	"time"
)

// Controller picks what one viewer gets from the stats of its link. It is
// not safe for concurrent use: one viewer session owns it.
//
// The position on the ladder is a level: 0 .. n-1 are the rungs (largest
// first), n is the lowest rung with its frame rate capped, n+1 is
// audio-only.
type Controller struct {
	cfg   Config
	rungs []Rung
	est   smoother

	started bool
	level   int
	reason  string // of the decision in force
	now     time.Time

	manual  string // manual rung, "" = automatic
	resumed bool   // ClearManual was called; the next Update re-picks

	last    Decision
	emitted bool

	overuseRun     int
	delayRun       int                // consecutive updates with a queue over DelayDown, not draining
	lastQueue      time.Duration      // the queueing delay of the previous update
	peakQueue      time.Duration      // the highest since the latest step down
	troughQueue    time.Duration      // the lowest since that peak
	nackWin        [nackWindow][2]int // NACKs and packets of the latest updates
	nackAt         int
	congestedNow   bool
	hadCongestion  bool
	lastCongestion time.Time
	probe          int
	probeBackoff   time.Duration
	probeFailed    time.Time // when the latest probe met congestion

	lastDown   time.Time // latest step down on congestion or under a standing queue
	rtt        time.Duration
	heldSince  time.Time // at the current level since
	upSince    time.Time // the next level up has been affordable since; zero = not
	upReason   string
	upProbed   bool // the step up rests on a clean probe: ProbeHold applies
	probed     bool // the latest Stats.Probed
	probing    bool // the latest Stats.Probing
	upPending  bool // an up-switch within its fail window
	upSwitchAt time.Time
	upLevel    int
	belowSince time.Time // under the audio-only line since; zero = not

	holdUp map[string]time.Duration // doubled holds by target rung name
}

// New returns a controller for rungs (largest first; they are sorted by
// bitrate anyway) created at start. The zero Config means DefaultConfig;
// otherwise fields of cfg that fail Validate take their defaults.
func New(cfg Config, rungs []Rung, start time.Time) *Controller {
	c := &Controller{
		cfg:       cfg.normalized(),
		rungs:     sortedLadder(rungs),
		now:       start,
		heldSince: start,
		holdUp:    map[string]time.Duration{},
	}
	c.probeBackoff = c.cfg.ProbeBackoff
	return c
}

// Smoothed returns the smoothed, clamped estimate in bps that decisions
// are made on; 0 until an estimate is known.
func (c *Controller) Smoothed() int { return c.est.smoothed() }

// ProbeTarget returns the rate in bps the sender should pad up to, so that
// GCC can find out whether the next rung up is affordable: the next rung's
// bitrate x UpMargin while below the top rung, not congested, past the
// probe backoff and the fail window of the latest up-switch, and the next
// rung not yet affordable. 0 means no probe now.
func (c *Controller) ProbeTarget() int { return c.probe }

// State names the controller's state for logs and metrics: one of the
// State constants.
func (c *Controller) State() string {
	n := len(c.rungs)
	switch {
	case c.manual != "":
		return StateManual
	case n == 0 || c.level == n+1:
		return StateAudioOnly
	case c.congestedNow:
		return StateCongested
	case c.probe > 0:
		return StateProbing
	case c.level > 0:
		return StateHolding
	}
	return StateStable
}

// SetManual makes rung the choice until ClearManual, whatever the link
// says (no frame-rate cap, no audio-only). It takes effect at the next
// Update. An unknown rung is an error wrapping ErrUnknownRung.
func (c *Controller) SetManual(rung string) error {
	if indexOf(c.rungs, rung) < 0 {
		return fmt.Errorf("%w: %q", ErrUnknownRung, rung)
	}
	c.manual = rung
	c.resumed = false
	return nil
}

// SwitchedDown tells the controller that the sender has just switched down
// to the rung of its latest step down, later than decided
// (it held video while the link's queue drained): the settle time starts
// again from now, since until now the feedback told of the old rung.
func (c *Controller) SwitchedDown(now time.Time) {
	if !c.lastDown.IsZero() && now.After(c.lastDown) {
		c.lastDown = now
	}
}

// ClearManual returns to the automatic choice at the next Update, picked
// afresh from the smoothed estimate (reason "auto").
func (c *Controller) ClearManual() {
	if c.manual == "" {
		return
	}
	c.manual = ""
	c.resumed = true
}

// SetRungs replaces the ladder. The current rung is kept if the new ladder
// has it, else the controller moves to the nearest lower rung by bitrate
// (the lowest when all are higher); a capped frame rate or audio-only stays
// on the new lowest rung. A manual rung moves the same way.
func (c *Controller) SetRungs(rungs []Rung) {
	old := c.rungs
	c.rungs = sortedLadder(rungs)
	n, oldN := len(c.rungs), len(old)
	if n == 0 || oldN == 0 {
		// Nothing to keep: the next Update starts afresh.
		c.level, c.started = 0, false
		if n == 0 {
			c.manual = ""
		}
		return
	}
	if c.manual != "" {
		if i := indexOf(c.rungs, c.manual); i < 0 {
			c.manual = c.rungs[nearestLower(c.rungs, bitrateOf(old, c.manual))].Name
		}
	}
	switch {
	case c.level >= oldN:
		c.level = n + (c.level - oldN)
	default:
		cur := old[c.level]
		if i := indexOf(c.rungs, cur.Name); i >= 0 {
			c.level = i
		} else {
			c.level = nearestLower(c.rungs, cur.Bitrate)
			c.reason = ReasonLadder
		}
	}
	c.heldSince = c.now
	c.upSince = time.Time{}
	c.upPending = false
}

// bitrateOf returns the bitrate of the rung named name, 0 if none.
func bitrateOf(rungs []Rung, name string) int {
	if i := indexOf(rungs, name); i >= 0 {
		return rungs[i].Bitrate
	}
	return 0
}

// Update takes the stats of the latest interval and returns the decision.
func (c *Controller) Update(s Stats) Decision {
	c.now, c.probed, c.probing = s.Now, s.Probed, s.Probing
	if s.RTT > 0 {
		c.rtt = s.RTT
	}
	cause := c.congestion(s)
	c.est.observe(s.Estimate, cause != "", &c.cfg)
	if s.Probed && float64(c.est.raw) > c.est.value {
		c.est.value = float64(c.est.raw) // measured, not guessed: no need to rise slowly
	}
	c.congestedNow = cause != ""
	if c.congestedNow {
		c.lastCongestion, c.hadCongestion = s.Now, true
	}
	n := len(c.rungs)
	switch {
	case n == 0:
		c.probe = 0
		c.reason = ReasonNoRungs
	case !c.started:
		c.begin(ReasonStart)
	case c.manual != "":
		c.probe = 0
	case c.resumed:
		c.begin(ReasonAuto)
	default:
		c.step(cause)
	}
	d := c.decision()
	d.Changed = !c.emitted || d.Rung != c.last.Rung || d.FPSCap != c.last.FPSCap || d.AudioOnly != c.last.AudioOnly
	c.last, c.emitted = d, true
	return d
}

// congestion returns the congestion reason of s, "" if none.
func (c *Controller) congestion(s Stats) string {
	nacks, packets := c.nackRate(s)
	// A queue that drains (10 % less than at the previous update, or than
	// its peak since the latest step down) is not congestion: the sender is
	// already under the link's rate.
	// One that grows again from its lowest since the peak does not drain.
	if s.QueueDelay < c.cfg.DelayDown/2 {
		c.peakQueue, c.troughQueue = 0, 0 // drained: a queue from now on is a new one
	}
	regrowing := c.troughQueue > 0 && s.QueueDelay > c.troughQueue+max(c.cfg.DelayRegrow, c.troughQueue/10)
	if s.QueueDelay >= c.peakQueue {
		c.peakQueue, c.troughQueue = s.QueueDelay, s.QueueDelay
	} else {
		c.troughQueue = min(c.troughQueue, s.QueueDelay)
	}
	pastPeak := !c.lastDown.IsZero() && s.QueueDelay < c.peakQueue*9/10 && !regrowing
	draining := (c.lastQueue > 0 && s.QueueDelay < c.lastQueue*9/10) || pastPeak
	c.lastQueue = s.QueueDelay
	deep := false
	if c.cfg.DelayDown > 0 && s.QueueDelay > c.cfg.DelayDown && !draining {
		c.delayRun++
		deep = float64(s.QueueDelay) > c.cfg.DelayDeep*float64(c.cfg.DelayDown)
	} else {
		c.delayRun = 0
	}
	// GCC's overuse state outlives the queue it saw by seconds: while the
	// queue of a step down drains, it is that queue's.
	if s.Overuse && !pastPeak {
		c.overuseRun++
	} else {
		c.overuseRun = 0
	}
	switch {
	case s.Fell:
		return ReasonDelay
	case c.overuseRun >= c.cfg.OveruseConfirm:
		return ReasonOveruse
	case c.delayRun >= 2 || deep:
		// Twice in a row, or deep at once: one reading over the line may
		// be a keyframe's burst passing.
		return ReasonDelay
	case s.Loss > c.cfg.LossDown:
		return ReasonLoss
	case packets > 0 && packets >= c.cfg.NACKMinPackets && float64(nacks)/float64(packets) > c.cfg.NACKDown:
		return ReasonNACK
	}
	return ""
}

// nackWindow is how many updates the NACK rate is taken over: about a
// second.
const nackWindow = 5

// nackRate adds s to the window and returns its NACKs and packets.
func (c *Controller) nackRate(s Stats) (nacks, packets int) {
	c.nackWin[c.nackAt%nackWindow] = [2]int{s.NACKs, s.Packets}
	c.nackAt++
	for _, w := range c.nackWin {
		nacks += w[0]
		packets += w[1]
	}
	return nacks, packets
}

// begin picks the level from the smoothed estimate, else keeps the level
// (after manual) or takes the start rung (at start).
func (c *Controller) begin(reason string) {
	if v := c.est.smoothed(); v > 0 {
		c.level = c.fitLevel(v)
	} else if reason == ReasonStart {
		c.level = c.startIndex()
	}
	c.started, c.resumed = true, false
	c.reason = reason
	c.heldSince = c.now
	c.upSince = time.Time{}
	c.upPending = false
	c.probe = 0
}

// startIndex returns the index of Config.StartRung, else the middle rung.
func (c *Controller) startIndex() int {
	if i := indexOf(c.rungs, c.cfg.StartRung); i >= 0 && c.cfg.StartRung != "" {
		return i
	}
	return len(c.rungs) / 2
}

// fitLevel returns the highest rung whose bitrate x Headroom fits est, or
// the capped level n when none does.
func (c *Controller) fitLevel(est int) int {
	for i, r := range c.rungs {
		if float64(r.Bitrate)*c.cfg.Headroom <= float64(est) {
			return i
		}
	}
	return len(c.rungs)
}

// rungAt returns the rung shown at level l.
func (c *Controller) rungAt(l int) Rung {
	return c.rungs[min(l, len(c.rungs)-1)]
}

// decision returns the decision in force, without Changed.
func (c *Controller) decision() Decision {
	n := len(c.rungs)
	if n == 0 {
		return Decision{AudioOnly: true, Reason: ReasonNoRungs}
	}
	if c.manual != "" {
		return Decision{Rung: c.manual, Reason: ReasonManual}
	}
	d := Decision{Rung: c.rungAt(c.level).Name, Reason: c.reason}
	switch c.level {
	case n:
		d.FPSCap = max(c.rungs[n-1].FPS/2, 1)
	case n + 1:
		d.AudioOnly = true
	}
	return d
}
