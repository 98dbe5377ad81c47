package webrtc

import (
	"fmt"
	"time"
)

// Config is WHIP ingest's media configuration.
type Config struct {
	// JitterLatency is how long a frame with missing packets waits for
	// them to be retransmitted before it is dropped (with the frames after
	// it up to the next keyframe, which is asked for). Longer survives
	// more loss on long round trips, at the cost of delay. Default 150ms.
	JitterLatency time.Duration `yaml:"jitter_latency"`
	// TrackWait is how long, after the first track arrives, to wait for the
	// others the offer announced before the stream goes live without them.
	// Default 2s.
	TrackWait time.Duration `yaml:"track_wait"`
	// StartTimeout ends a session whose video track has not arrived this
	// long after the connection is up. Default 10s.
	StartTimeout time.Duration `yaml:"start_timeout"`
}

// DefaultConfig returns the configuration used for any field left zero.
func DefaultConfig() Config {
	return Config{
		JitterLatency: 150 * time.Millisecond,
		TrackWait:     2 * time.Second,
		StartTimeout:  10 * time.Second,
	}
}

// Validate reports a field out of range. Zero fields are fine: they take
// their default.
func (c Config) Validate() error {
	if c.JitterLatency < 0 || c.JitterLatency > 5*time.Second {
		return fmt.Errorf("%w: jitter_latency %v is outside 0..5s", ErrConfig, c.JitterLatency)
	}
	if c.TrackWait < 0 || c.TrackWait > time.Minute {
		return fmt.Errorf("%w: track_wait %v is outside 0..1m", ErrConfig, c.TrackWait)
	}
	if c.StartTimeout < 0 || c.StartTimeout > 10*time.Minute {
		return fmt.Errorf("%w: start_timeout %v is outside 0..10m", ErrConfig, c.StartTimeout)
	}
	return nil
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.JitterLatency <= 0 {
		c.JitterLatency = d.JitterLatency
	}
	if c.TrackWait <= 0 {
		c.TrackWait = d.TrackWait
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = d.StartTimeout
	}
	return c
}
