package adapt

import (
	"errors"
	"fmt"
	"time"
)

// ShapeConfig tunes how a Shaper turns a viewer's raw feedback into the
// Stats the controller decides on, and how it probes.
type ShapeConfig struct {
	// StandingQueue is the queueing delay (one-way delay above the link's
	// base) over which a queue stands: the link then carries what it
	// delivers, whatever GCC estimates. Under half of it GCC's overuse
	// state is ignored.
	StandingQueue time.Duration `yaml:"standing_queue"`
	// LossCap is the receiver-reported loss fraction above which what was
	// delivered caps the estimate, and at or under which a probe counts
	// as clean.
	LossCap float64 `yaml:"loss_cap"`
	// Probe shapes the padding sent to find out whether the link carries
	// more.
	Probe ProbeConfig `yaml:"probe"`
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

// DefaultShapeConfig returns the defaults: a queue stands over 50 ms, loss
// over 10 % caps the estimate, probes double every 200 ms, count after 1 s
// clean, are cut at 40 ms of queue or 3 packets lost, retry after 1 s
// doubling to 4 s, own congestion for 2 s after they end and count for 4 s.
func DefaultShapeConfig() ShapeConfig {
	return ShapeConfig{
		StandingQueue: 50 * time.Millisecond,
		LossCap:       0.10,
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
	}
}

// Validate reports every field out of its range, by its YAML name.
func (c ShapeConfig) Validate() error {
	var errs []error
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be above 0, got %s", name, d))
		}
	}
	positive("standing_queue", c.StandingQueue)
	if c.LossCap <= 0 || c.LossCap >= 1 {
		errs = append(errs, fmt.Errorf("loss_cap: must be in (0, 1), got %g", c.LossCap))
	}
	positive("probe.ramp", c.Probe.Ramp)
	positive("probe.clean", c.Probe.Clean)
	positive("probe.abort_queue", c.Probe.AbortQueue)
	positive("probe.retry", c.Probe.Retry)
	positive("probe.valid", c.Probe.Valid)
	if c.Probe.AbortLost < 1 {
		errs = append(errs, fmt.Errorf("probe.abort_lost: must be at least 1, got %d", c.Probe.AbortLost))
	}
	if c.Probe.RetryMax < c.Probe.Retry {
		errs = append(errs, fmt.Errorf("probe.retry_max: must be at least probe.retry (%s), got %s", c.Probe.Retry, c.Probe.RetryMax))
	}
	if c.Probe.Drain < 0 {
		errs = append(errs, fmt.Errorf("probe.drain: must not be negative, got %s", c.Probe.Drain))
	}
	return errors.Join(errs...)
}
