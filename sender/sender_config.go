package sender

import (
	"errors"
	"fmt"
	"time"

	"github.com/mutstream/mutstream/adapt"
)

// Config is the one configuration of a viewer's adaptation (the
// webrtc.adapt section): the controller's thresholds (adapt.Config), how
// raw feedback is shaped and probes run (adapt.ShapeConfig), and the
// mechanics under them: how a fall of the link is seen, how a switch down
// under a standing queue waits for the queue to drain, and what
// retransmissions may take.
type Config struct {
	adapt.Config      `yaml:",inline"`
	adapt.ShapeConfig `yaml:",inline"`
	// Estimator is where the estimate the shaper starts from comes from:
	// "meter" (the default), the link meter alone: 1.5x the rate the link
	// delivered (the cap the shaper puts on GCC's estimate anyway),
	// overuse when the queue passes half of standing_queue; or "gcc",
	// pion's send-side GCC on transport-wide feedback, whose per-packet
	// history costs a fifth of a viewer's CPU at 200 viewers.
	Estimator string `yaml:"estimator"`
	// Fall is how a steep fall of the link is seen before its queue is
	// deep.
	Fall FallConfig `yaml:"fall"`
	// Hold is how a switch down under a standing queue waits for the
	// queue to drain.
	Hold HoldConfig `yaml:"hold"`
	// Resend bounds retransmissions.
	Resend ResendConfig `yaml:"resend"`
}

// The estimators a viewer's adaptation can start from (Config.Estimator).
const (
	EstimatorGCC   = "gcc"
	EstimatorMeter = "meter"
)

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

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Config:      adapt.DefaultConfig(),
		ShapeConfig: adapt.DefaultShapeConfig(),
		Estimator:   EstimatorMeter,
		Fall:        FallConfig{Window: 60 * time.Millisecond, Rise: 40 * time.Millisecond, Packets: 6, Share: 0.8},
		Hold:        HoldConfig{Queue: 40 * time.Millisecond, Resume: 150 * time.Millisecond, Max: 1500 * time.Millisecond},
		Resend:      ResendConfig{Share: 0.2, LateQueue: 250 * time.Millisecond},
	}
}

// Validate reports every field out of its range, by its YAML name.
func (c Config) Validate() error {
	var errs []error
	if err := c.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.ShapeConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Estimator != EstimatorGCC && c.Estimator != EstimatorMeter {
		errs = append(errs, fmt.Errorf("estimator: %q is not %q or %q", c.Estimator, EstimatorGCC, EstimatorMeter))
	}
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be above 0, got %s", name, d))
		}
	}
	positive("fall.window", c.Fall.Window)
	positive("fall.rise", c.Fall.Rise)
	if c.Fall.Packets < 2 {
		errs = append(errs, fmt.Errorf("fall.packets: must be at least 2, got %d", c.Fall.Packets))
	}
	if c.Fall.Share < 0 || c.Fall.Share > 1 {
		errs = append(errs, fmt.Errorf("fall.share: must be in [0, 1] (0 = off), got %g", c.Fall.Share))
	}
	positive("hold.resume", c.Hold.Resume)
	positive("hold.max", c.Hold.Max)
	positive("resend.late_queue", c.Resend.LateQueue)
	if c.Hold.Queue < 0 {
		errs = append(errs, fmt.Errorf("hold.queue: must not be negative, got %s", c.Hold.Queue))
	}
	if c.Resend.Share < 0 || c.Resend.Share > 1 {
		errs = append(errs, fmt.Errorf("resend.share: must be in [0, 1], got %g", c.Resend.Share))
	}
	return errors.Join(errs...)
}
