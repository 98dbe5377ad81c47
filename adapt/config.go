package adapt

import (
	"errors"
	"fmt"
	"time"
)

// Config holds every threshold of the controller. Durations are YAML
// durations ("3s"), bitrates are bits per second.
type Config struct {
	// MinEstimate is the floor of the estimate the controller decides on;
	// pion's GCC does not enforce its own minimum.
	MinEstimate int `yaml:"min_estimate"`
	// MaxEstimate is the ceiling of the estimate; an application-limited
	// GCC estimate grows without bound.
	MaxEstimate int `yaml:"max_estimate"`
	// DropConfirm is how many consecutive updates a lower estimate must
	// last before the smoothed estimate takes it (a single delay spike
	// does not).
	DropConfirm int `yaml:"drop_confirm"`
	// RiseAlpha is the EWMA weight of a higher estimate (0 < alpha <= 1):
	// the smoothed estimate rises slowly.
	RiseAlpha float64 `yaml:"rise_alpha"`
	// Headroom is the factor a rung's bitrate is multiplied by to fit the
	// estimate: a rung fits when Bitrate x Headroom <= estimate.
	Headroom float64 `yaml:"headroom"`
	// StartRung names the first rung when the first Stats has no estimate;
	// empty or unknown means the middle rung.
	StartRung string `yaml:"start_rung"`
	// OveruseConfirm is how many consecutive updates with GCC overuse count
	// as congestion.
	OveruseConfirm int `yaml:"overuse_confirm"`
	// DelayDown is the queueing delay (one-way delay above the link's base,
	// from transport-wide feedback) above which, in two updates in a row
	// or at DelayDeep times the line in one, and not draining, the
	// controller steps down; it sees a queue build before GCC's estimate
	// falls and before the queue overflows into loss. 0 turns it off.
	DelayDown time.Duration `yaml:"delay_down"`
	// DelayDeep is the factor on DelayDown over which one reading is
	// congestion.
	DelayDeep float64 `yaml:"delay_deep"`
	// DelayRegrow is how far a queue may rise over its lowest since its
	// peak and still count as draining (readings scatter by a few packets).
	DelayRegrow time.Duration `yaml:"delay_regrow"`
	// LossDown is the RTCP loss fraction above which the controller steps down.
	LossDown float64 `yaml:"loss_down"`
	// NACKDown is the NACK rate (newly NACKed packets per video packet
	// sent, over the latest second) above which the controller steps down.
	NACKDown float64 `yaml:"nack_down"`
	// NACKMinPackets is the fewest packets sent over the latest second for
	// the NACK rate to count (a few packets make a noisy rate).
	NACKMinPackets int `yaml:"nack_min_packets"`
	// DownSettle is how long after a step down on congestion the next one
	// waits, so that the sender's lower rate shows in the feedback (RTCP
	// reports come about once a second) before the controller steps again;
	// a rung the smoothed estimate no longer carries is left at once anyway.
	// At least twice the latest RTT.
	DownSettle time.Duration `yaml:"down_settle"`
	// UpMargin is the factor on the next rung's bitrate that the smoothed
	// estimate must reach, for HoldUp, to step up. At least Headroom, so
	// that a steady link does not oscillate; also the probe target factor.
	UpMargin float64 `yaml:"up_margin"`
	// HoldUp is how long the estimate must stay above the next rung (with
	// UpMargin and no congestion) before a step up.
	HoldUp time.Duration `yaml:"hold_up"`
	// ProbeHold replaces HoldUp after a probe that ran clean at the next
	// rung's rate: the probe already showed the link carries it. At most
	// HoldUp; doubled holds are scaled alike.
	ProbeHold time.Duration `yaml:"probe_hold"`
	// FailWindow is how soon after an up-switch congestion counts as a
	// failed switch: the controller backs off and doubles that rung's hold.
	FailWindow time.Duration `yaml:"fail_window"`
	// MaxHoldUp bounds the doubled hold of a rung.
	MaxHoldUp time.Duration `yaml:"max_hold_up"`
	// HoldReset is how long a rung must be held without congestion for its
	// doubled hold to return to HoldUp.
	HoldReset time.Duration `yaml:"hold_reset"`
	// AudioOnlyRatio is the fraction of the lowest rung's bitrate under
	// which, for AudioOnlyAfter, video stops (audio-only).
	AudioOnlyRatio float64 `yaml:"audio_only_ratio"`
	// AudioOnlyAfter is how long the estimate must stay under the
	// audio-only line, with the frame rate already capped, before audio-only.
	AudioOnlyAfter time.Duration `yaml:"audio_only_after"`
	// StillEvery is how often the sender shows a still picture while
	// audio-only.
	StillEvery time.Duration `yaml:"still_every"`
	// ProbeBackoff is how long after congestion no probe is asked for;
	// it doubles after each failed probe.
	ProbeBackoff time.Duration `yaml:"probe_backoff"`
	// MaxProbeBackoff bounds the doubled probe backoff.
	MaxProbeBackoff time.Duration `yaml:"max_probe_backoff"`
}

// DefaultConfig returns the defaults: estimate clamped to 30 kb/s..20 Mb/s,
// drops taken after 2 updates, rises with alpha 0.3, headroom 1.25, up
// margin 1.4 held for 3 s, or 1 s after a clean probe (doubling to 40 s
// after a failure within 5 s, reset after 30 s), steps down on 2 updates of
// overuse, 80 ms of queueing delay twice (160 ms once; a queue rising 20 ms
// from its low point after a step down grows again), or more than 10% loss
// or NACKs (one step per 1 s), audio-only under 0.6 x the lowest rung for
// 2 s, a still every 2 s, and a probe backoff of 2 s doubling to 4 s.
func DefaultConfig() Config {
	return Config{
		MinEstimate:     30_000,
		MaxEstimate:     20_000_000,
		DropConfirm:     2,
		RiseAlpha:       0.3,
		Headroom:        1.25,
		OveruseConfirm:  2,
		DelayDown:       80 * time.Millisecond,
		DelayDeep:       2,
		DelayRegrow:     20 * time.Millisecond,
		LossDown:        0.10,
		NACKDown:        0.10,
		NACKMinPackets:  50,
		DownSettle:      time.Second,
		UpMargin:        1.4,
		HoldUp:          3 * time.Second,
		ProbeHold:       time.Second,
		FailWindow:      5 * time.Second,
		MaxHoldUp:       40 * time.Second,
		HoldReset:       30 * time.Second,
		AudioOnlyRatio:  0.6,
		AudioOnlyAfter:  2 * time.Second,
		StillEvery:      2 * time.Second,
		ProbeBackoff:    2 * time.Second,
		MaxProbeBackoff: 4 * time.Second,
	}
}

// check is one rule of Validate: ok tells whether c passes, fix replaces
// the offending field by its default.
type check struct {
	msg string
	ok  func(c *Config) bool
	fix func(c *Config, d Config)
}

var checks = []check{
	{"min_estimate must be above 0",
		func(c *Config) bool { return c.MinEstimate > 0 },
		func(c *Config, d Config) { c.MinEstimate = d.MinEstimate }},
	{"max_estimate must be above min_estimate",
		func(c *Config) bool { return c.MaxEstimate > c.MinEstimate },
		func(c *Config, d Config) { c.MaxEstimate = d.MaxEstimate }},
	{"drop_confirm must be at least 1",
		func(c *Config) bool { return c.DropConfirm >= 1 },
		func(c *Config, d Config) { c.DropConfirm = d.DropConfirm }},
	{"rise_alpha must be in (0, 1]",
		func(c *Config) bool { return c.RiseAlpha > 0 && c.RiseAlpha <= 1 },
		func(c *Config, d Config) { c.RiseAlpha = d.RiseAlpha }},
	{"headroom must be at least 1",
		func(c *Config) bool { return c.Headroom >= 1 },
		func(c *Config, d Config) { c.Headroom = d.Headroom }},
	{"overuse_confirm must be at least 1",
		func(c *Config) bool { return c.OveruseConfirm >= 1 },
		func(c *Config, d Config) { c.OveruseConfirm = d.OveruseConfirm }},
	{"loss_down must be in (0, 1]",
		func(c *Config) bool { return c.LossDown > 0 && c.LossDown <= 1 },
		func(c *Config, d Config) { c.LossDown = d.LossDown }},
	{"nack_down must be above 0",
		func(c *Config) bool { return c.NACKDown > 0 },
		func(c *Config, d Config) { c.NACKDown = d.NACKDown }},
	{"nack_min_packets must not be negative",
		func(c *Config) bool { return c.NACKMinPackets >= 0 },
		func(c *Config, d Config) { c.NACKMinPackets = d.NACKMinPackets }},
	{"down_settle must not be negative",
		func(c *Config) bool { return c.DownSettle >= 0 },
		func(c *Config, d Config) { c.DownSettle = d.DownSettle }},
	{"up_margin must be at least headroom",
		func(c *Config) bool { return c.UpMargin >= c.Headroom },
		func(c *Config, d Config) { c.UpMargin = max(d.UpMargin, c.Headroom) }},
	{"hold_up must be above 0",
		func(c *Config) bool { return c.HoldUp > 0 },
		func(c *Config, d Config) { c.HoldUp = d.HoldUp }},
	{"delay_down must not be negative",
		func(c *Config) bool { return c.DelayDown >= 0 },
		func(c *Config, d Config) { c.DelayDown = d.DelayDown }},
	{"delay_deep must be at least 1",
		func(c *Config) bool { return c.DelayDeep >= 1 },
		func(c *Config, d Config) { c.DelayDeep = d.DelayDeep }},
	{"delay_regrow must not be negative",
		func(c *Config) bool { return c.DelayRegrow >= 0 },
		func(c *Config, d Config) { c.DelayRegrow = d.DelayRegrow }},
	{"probe_hold must be in (0, hold_up]",
		func(c *Config) bool { return c.ProbeHold > 0 && c.ProbeHold <= c.HoldUp },
		func(c *Config, d Config) { c.ProbeHold = min(d.ProbeHold, c.HoldUp) }},
	{"fail_window must be above 0",
		func(c *Config) bool { return c.FailWindow > 0 },
		func(c *Config, d Config) { c.FailWindow = d.FailWindow }},
	{"max_hold_up must be at least hold_up",
		func(c *Config) bool { return c.MaxHoldUp >= c.HoldUp },
		func(c *Config, d Config) { c.MaxHoldUp = max(d.MaxHoldUp, c.HoldUp) }},
	{"hold_reset must be above 0",
		func(c *Config) bool { return c.HoldReset > 0 },
		func(c *Config, d Config) { c.HoldReset = d.HoldReset }},
	{"audio_only_ratio must be in (0, headroom)",
		func(c *Config) bool { return c.AudioOnlyRatio > 0 && c.AudioOnlyRatio < c.Headroom },
		func(c *Config, d Config) { c.AudioOnlyRatio = d.AudioOnlyRatio }},
	{"audio_only_after must not be negative",
		func(c *Config) bool { return c.AudioOnlyAfter >= 0 },
		func(c *Config, d Config) { c.AudioOnlyAfter = d.AudioOnlyAfter }},
	{"still_every must be above 0",
		func(c *Config) bool { return c.StillEvery > 0 },
		func(c *Config, d Config) { c.StillEvery = d.StillEvery }},
	{"probe_backoff must be above 0",
		func(c *Config) bool { return c.ProbeBackoff > 0 },
		func(c *Config, d Config) { c.ProbeBackoff = d.ProbeBackoff }},
	{"max_probe_backoff must be at least probe_backoff",
		func(c *Config) bool { return c.MaxProbeBackoff >= c.ProbeBackoff },
		func(c *Config, d Config) { c.MaxProbeBackoff = max(d.MaxProbeBackoff, c.ProbeBackoff) }},
}

// Validate reports every field out of its range, each error wrapping
// ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	for _, k := range checks {
		if !k.ok(&c) {
			errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidConfig, k.msg))
		}
	}
	return errors.Join(errs...)
}

// normalized returns the defaults for the zero Config, else c with every
// field that fails its check replaced by its default, or the defaults with
// c's StartRung when that is not enough.
func (c Config) normalized() Config {
	d := DefaultConfig()
	if c == (Config{}) {
		return d
	}
	for _, k := range checks {
		if !k.ok(&c) {
			k.fix(&c, d)
		}
	}
	if c.Validate() != nil {
		d.StartRung = c.StartRung
		return d
	}
	return c
}
