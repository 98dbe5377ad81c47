package sender

import (
	"errors"
	"fmt"
	"time"
)

// SenderConfig tunes the mechanics under each viewer's controller: how its
// link is read from transport-wide feedback, how probes run, how a switch
// down under a standing queue waits for the queue to drain, and what
// retransmissions may take. The controller's own thresholds are in
// adapt.Config.
type SenderConfig struct {
	// StandingQueue is the queueing delay (one-way delay above the link's
	// base) over which a queue stands: the link then carries what it
	// delivers, whatever GCC estimates. Under half of it GCC's overuse
	// state is ignored.
	StandingQueue time.Duration `yaml:"standing_queue"`
	// LossCap is the receiver-reported loss fraction above which what was
	// delivered caps the estimate, and at or under which a probe counts
	// as clean.
	LossCap float64 `yaml:"loss_cap"`
	// Fall is how a steep fall of the link is seen before its queue is
	// deep.
	Fall FallConfig `yaml:"fall"`
	// Probe shapes the padding sent to find out whether the link carries
	// more.
	Probe ProbeConfig `yaml:"probe"`
	// Hold is how a switch down under a standing queue waits for the
	// queue to drain.
	Hold HoldConfig `yaml:"hold"`
	// Resend bounds retransmissions.
	Resend ResendConfig `yaml:"resend"`
}

// FallConfig: over the latest Window of arrivals (and at least Packets of
// them) the queue rose by Rise or more while the newest Packets arrived at
// under Share of the rung's bitrate: the link fell, and carries what they
// arrive at. A keyframe's burst also raises the queue, but arrives at the
// link's full rate.
type FallConfig struct {
	Window  time.Duration `yaml:"window"`
	Rise    time.Duration `yaml:"rise"`
	Packets int           `yaml:"packets"`
	Share   float64       `yaml:"share"`
}

// ProbeConfig shapes probes.
type ProbeConfig struct {
	// Ramp is how often the probe's rate doubles, from the video's rate up
	// to its target, so that it overloads a thin link only a little.
	Ramp time.Duration `yaml:"ramp"`
	// Clean is how long a probe must run at its full rate without
	// congestion to count.
	Clean time.Duration `yaml:"clean"`
	// AbortQueue is the standing queue that cuts a probe short ...
	AbortQueue time.Duration `yaml:"abort_queue"`
	// ... as do this many packets reported lost between two looks (20 ms
	// apart).
	AbortLost int `yaml:"abort_lost"`
	// Retry is the pause after a probe cut short, doubling up to RetryMax;
	// a clean probe resets it.
	Retry    time.Duration `yaml:"retry"`
	RetryMax time.Duration `yaml:"retry_max"`
	// Drain is how long after a probe ends congestion still counts as the
	// probe's (its queue drains, and the receiver report that tells of its
	// loss comes about a second later): it does not step the media down.
	Drain time.Duration `yaml:"drain"`
	// Valid is how long what a probe showed the link carries counts.
	Valid time.Duration `yaml:"valid"`
}

// HoldConfig is the video hold: after a switch down under a standing queue, no
// video is sent until the link's queue has drained, so that the new rung's
// keyframe finds room in it.
type HoldConfig struct {
	// Queue is the standing queue over which a switch down is held; 0
	// never holds.
	Queue time.Duration `yaml:"queue"`
	// Resume ends the hold once the queue predicted for now (what the
	// feedback last showed, plus what was sent since at the rate the link
	// delivers, less the time gone by) is under it. The new rung's keyframe
	// then arrives right behind the last of the old rung's frames.
	Resume time.Duration `yaml:"resume"`
	// Max ends a hold in any case. After a switch down, the controller's
	// settle time goes on while the feedback tells only of packets sent
	// before the switch (their queue is the old rung's), for Max at most.
	Max time.Duration `yaml:"max"`
}

// ResendConfig bounds retransmissions.
type ResendConfig struct {
	// Share is the part of the estimate retransmissions may take.
	Share float64 `yaml:"share"`
	// LateQueue is the queueing delay over which no retransmission is sent:
	// it would come too late and deepen the queue; a keyframe is asked for
	// instead.
	LateQueue time.Duration `yaml:"late_queue"`
}

// DefaultSenderConfig returns the defaults.
func DefaultSenderConfig() SenderConfig {
	return SenderConfig{
		StandingQueue: 50 * time.Millisecond,
		LossCap:       0.10,
		Fall:          FallConfig{Window: 60 * time.Millisecond, Rise: 40 * time.Millisecond, Packets: 6, Share: 0.8},
		Probe: ProbeConfig{
			Ramp:       200 * time.Millisecond,
			Clean:      time.Second,
			AbortQueue: 40 * time.Millisecond,
			AbortLost:  3,
			Retry:      time.Second,
			RetryMax:   4 * time.Second,
			Drain:      2 * time.Second,
			Valid:      4 * time.Second,
		},
		Hold:   HoldConfig{Queue: 40 * time.Millisecond, Resume: 150 * time.Millisecond, Max: 1500 * time.Millisecond},
		Resend: ResendConfig{Share: 0.2, LateQueue: 250 * time.Millisecond},
	}
}

// Validate reports every field out of its range, by its YAML name.
func (c SenderConfig) Validate() error {
	var errs []error
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be above 0, got %s", name, d))
		}
	}
	positive("standing_queue", c.StandingQueue)
	positive("fall.window", c.Fall.Window)
	positive("fall.rise", c.Fall.Rise)
	if c.Fall.Packets < 2 {
		errs = append(errs, fmt.Errorf("fall.packets: must be at least 2, got %d", c.Fall.Packets))
	}
	if c.Fall.Share < 0 || c.Fall.Share > 1 {
		errs = append(errs, fmt.Errorf("fall.share: must be in [0, 1] (0 = off), got %g", c.Fall.Share))
	}
	positive("probe.ramp", c.Probe.Ramp)
	positive("probe.clean", c.Probe.Clean)
	positive("probe.abort_queue", c.Probe.AbortQueue)
	positive("probe.retry", c.Probe.Retry)
	positive("probe.valid", c.Probe.Valid)
	positive("hold.resume", c.Hold.Resume)
	positive("hold.max", c.Hold.Max)
	positive("resend.late_queue", c.Resend.LateQueue)
	if c.LossCap <= 0 || c.LossCap >= 1 {
		errs = append(errs, fmt.Errorf("loss_cap: must be in (0, 1), got %g", c.LossCap))
	}
	if c.Probe.AbortLost < 1 {
		errs = append(errs, fmt.Errorf("probe.abort_lost: must be at least 1, got %d", c.Probe.AbortLost))
	}
	if c.Probe.RetryMax < c.Probe.Retry {
		errs = append(errs, fmt.Errorf("probe.retry_max: must be at least probe.retry (%s), got %s", c.Probe.Retry, c.Probe.RetryMax))
	}
	if c.Probe.Drain < 0 {
		errs = append(errs, fmt.Errorf("probe.drain: must not be negative, got %s", c.Probe.Drain))
	}
	if c.Hold.Queue < 0 {
		errs = append(errs, fmt.Errorf("hold.queue: must not be negative, got %s", c.Hold.Queue))
	}
	if c.Resend.Share < 0 || c.Resend.Share > 1 {
		errs = append(errs, fmt.Errorf("resend.share: must be in [0, 1], got %g", c.Resend.Share))
	}
	return errors.Join(errs...)
}
