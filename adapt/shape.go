package adapt

import (
	"slices"
	"time"
)

// Feedback is what a viewer's sender read from its link at Now, since the
// previous update: the raw inputs a Shaper turns into Stats. A trace of
// Feedback (and ProbeCuts) replays to the same decisions (ReplayFeedback).
type Feedback struct {
	// Now is the time of the update; the Shaper has no other clock.
	Now time.Time
	// Estimate is GCC's target bitrate in bps; 0 means none.
	Estimate int
	// Overuse says GCC's delay-based detector reports overuse.
	Overuse bool
	// Loss is the fraction lost in the latest RTCP receiver report, which
	// came at LossAt.
	Loss   float64
	LossAt time.Time
	// RTT is the round-trip time from RTCP reports; 0 means not known.
	RTT time.Duration
	// NACKs is the count of distinct packets NACKed since the start.
	NACKs int64
	// Packets and Bytes are the video packets and bytes sent since the
	// previous update.
	Packets, Bytes int
	// Link is what transport-wide feedback said, nil without a link meter.
	Link *LinkReading
	// RungBitrate is the bitrate of the rung being sent, as the controller
	// sees it; 0 when not known.
	RungBitrate int
	// OnTop says the rung being sent is the ladder's top: there is nothing
	// above to probe for, and no probe starts (one under way ends).
	OnTop bool
	// DownUnacked says the feedback still tells only of packets sent
	// before the latest switch down (within its settle time): their queue
	// is the old rung's, and the controller's settle time goes on.
	DownUnacked bool
}

// LinkReading is what a link meter read from transport-wide feedback.
type LinkReading struct {
	// QueueDelay is the mean queueing delay of the packets acknowledged
	// since the previous update (or, with none acknowledged, how long ago
	// the newest acknowledged one was sent).
	QueueDelay time.Duration
	// QueueNow is the queue standing now.
	QueueNow time.Duration
	// Delivered is the rate the receiver got packets at, bps; 0 = not known.
	Delivered int
	// Acked is how many packets the feedback acknowledged.
	Acked int
	// Fell says the link was seen to fall under the rung's rate just now,
	// to FellRate.
	Fell     bool
	FellRate int
}

// ProbeCut is a probe cut short between updates, on a queue or loss seen
// in the feedback (see Shaper.ProbeAborts), with the rate the link
// delivered then.
type ProbeCut struct {
	Now       time.Time
	Delivered int
}

// floorLen is how many updates the delivered-rate floor spans: a second.
const floorLen = 5

// A Shaper turns one viewer's raw feedback into the Stats its controller
// decides on, working around GCC's known faults with what the link meter
// measures: a standing queue makes the estimate the delivered rate; without
// one the link carries at least what got through over the latest second;
// GCC's estimate counts for 1.5x what was delivered at most; a clean link
// keeps its rung; a fall sets the rate at once; a clean probe's rate
// counts. It also runs the probes that find out whether the link carries
// more. Like the Controller it is pure and not safe for concurrent use.
type Shaper struct {
	cfg  ShapeConfig
	ctrl *Controller

	lastUpd   time.Time
	nacks     int64
	born      time.Time // the first update
	floor     [floorLen]int
	floorN    int
	minRTT    time.Duration // the lowest RTT seen: the link's base delay
	delivered int           // the latest delivered rate from feedback, for logs
	onTop     bool          // the latest Feedback's OnTop
	last      Stats

	// Probing: padding up to probeRate to find out whether the link
	// carries the next rung; a clean probe raises the estimate.
	probeRate  int       // bps being probed, 0 = not probing
	probeStart time.Time // when the current probe began
	probeOK    int       // the rate a clean probe showed the link carries
	probeUntil time.Time // until when probeOK counts
	probeGap   time.Duration
	probeEnded time.Time // when the latest probe was cut short
	probeNext  time.Time // no probe before this, after one cut short
}

// NewShaper returns a Shaper feeding ctrl.
func NewShaper(cfg ShapeConfig, ctrl *Controller) *Shaper {
	return &Shaper{cfg: cfg, ctrl: ctrl}
}

// Decide shapes f, runs the controller on the result and returns both.
func (h *Shaper) Decide(f Feedback) (Stats, Decision) {
	s := h.Shape(f)
	if f.DownUnacked {
		h.ctrl.SwitchedDown(f.Now)
	}
	return s, h.ctrl.Update(s)
}

// Last returns the latest Stats shaped.
func (h *Shaper) Last() Stats { return h.last }

// LastUpdate returns the time of the latest update.
func (h *Shaper) LastUpdate() time.Time { return h.lastUpd }

// Delivered returns the latest delivered rate the link meter read, bps.
func (h *Shaper) Delivered() int { return h.delivered }

// Shape turns f into the Stats the controller decides on, and starts,
// ends and judges probes.
func (h *Shaper) Shape(f Feedback) Stats {
	now := f.Now
	s := Stats{Now: now, Packets: f.Packets, Estimate: f.Estimate, Overuse: f.Overuse, Loss: f.Loss, RTT: f.RTT}
	sentBps := 0
	if !h.lastUpd.IsZero() {
		if dt := now.Sub(h.lastUpd).Seconds(); dt > 0 {
			sentBps = int(float64(f.Bytes*8) / dt)
		}
	}
	h.lastUpd, h.onTop = now, f.OnTop
	defer func() { h.last = s }()
	s.NACKs = int(f.NACKs - h.nacks)
	h.nacks = f.NACKs
	// The transport-wide feedback says how much queue the link holds and
	// what it delivers; without it, the delivered rate is what was sent
	// less what RTCP reports lost.
	var ls LinkReading
	if f.Link != nil {
		ls = *f.Link
	}
	metered := ls.Acked > 0 || ls.QueueDelay > 0
	s.QueueDelay = ls.QueueDelay
	fellRate, fell := 0, false
	if metered {
		// A queue still growing: the one standing now, rather than the
		// mean since the previous update, which lags it.
		s.QueueDelay = max(s.QueueDelay, ls.QueueNow)
		fellRate, fell = ls.FellRate, ls.Fell
	}
	if metered && s.QueueDelay < h.cfg.StandingQueue/2 {
		// GCC's overuse state outlives the queue it saw by seconds; the
		// feedback says whether a queue stands now.
		s.Overuse = false
	}
	h.delivered = ls.Delivered
	delivered := int(float64(sentBps) * (1 - s.Loss))
	if ls.Delivered > 0 {
		delivered = ls.Delivered
	}
	if s.RTT > 0 && (h.minRTT == 0 || s.RTT < h.minRTT) {
		h.minRTT = s.RTT
	}
	queued := metered && s.QueueDelay > h.cfg.StandingQueue
	clean := s.Loss <= h.cfg.LossCap && !s.Overuse && !queued && !fell
	if (queued || s.Loss > h.cfg.LossCap) && !h.probeOwns(now, s.Loss, f.LossAt) {
		h.probeUntil = time.Time{} // the link got worse: what a probe showed no longer holds
	}
	if !metered {
		clean = clean && (s.RTT == 0 || s.RTT < 2*h.minRTT+30*time.Millisecond)
	}
	switch {
	case queued && delivered > 0:
		// A queue stands: the link carries what it delivers, whatever GCC
		// says (it lags a drop, then collapses far below the link after
		// one).
		s.Estimate = delivered
		h.floorN = 0
	case s.Loss > h.cfg.LossCap && sentBps > 0:
		// Heavy loss says what the link carries now, sooner than GCC's
		// estimate falls: what was sent, less what was lost.
		if s.Estimate == 0 || delivered < s.Estimate {
			s.Estimate = delivered
		}
		h.floorN = 0
	case delivered > 0:
		// Without heavy loss or a standing queue the link carries at least
		// what gets through (the least of the latest second), whatever GCC
		// says after one of its sharp drops or while its overuse state
		// outlives a probe.
		h.floor[h.floorN%len(h.floor)] = delivered
		h.floorN++
		if h.floorN >= len(h.floor) {
			if m := slices.Min(h.floor[:]); m > s.Estimate {
				s.Estimate = m
			}
		}
	default:
		h.floorN = 0
	}
	// GCC's estimate grows while the sender is application-limited, far
	// past what the link has shown it carries: it counts for up to 1.5x
	// what was delivered (after the first seconds, once that is known);
	// more needs a probe.
	if h.born.IsZero() {
		h.born = now
	}
	if delivered > 0 && now.Sub(h.born) > 3*time.Second && s.Estimate > delivered*3/2 {
		s.Estimate = delivered * 3 / 2
	}
	// A fall of GCC's estimate with no sign of congestion is one of its
	// known artefacts (it grows without bound while the sender is
	// application-limited, then drops sharply on one delay spike): it does
	// not take the viewer off the rung it is on.
	if need := int(float64(f.RungBitrate) * h.ctrl.cfg.Headroom); clean && f.RungBitrate > 0 && s.Estimate < need {
		s.Estimate = need
	}
	if fell {
		// The link has just fallen: it carries what arrives now, whatever
		// was delivered over the latest 200 ms or GCC says.
		s.Fell, s.Estimate = true, fellRate
	}
	h.probe(now, s, metered, delivered)
	s.Probing = h.probeOwns(now, s.Loss, f.LossAt) // a probe started or cut just now counts too
	if now.Before(h.probeUntil) && h.probeOK > s.Estimate && clean {
		s.Estimate, s.Probed = h.probeOK, true
	}
	return s
}
