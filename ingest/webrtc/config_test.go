package webrtc

import (
	"errors"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	if got := (Config{}).withDefaults(); got != DefaultConfig() {
		t.Fatalf("defaults %+v", got)
	}
	if err := (Config{JitterLatency: -time.Second}).Validate(); !errors.Is(err, ErrConfig) {
		t.Fatalf("negative latency: %v", err)
	}
	var c Config
	dec := "jitter_latency: 250ms\ntrack_wait: 1s\nstart_timeout: 5s\n"
	if err := yaml.Unmarshal([]byte(dec), &c); err != nil {
		t.Fatal(err)
	}
	if c.JitterLatency != 250*time.Millisecond || c.TrackWait != time.Second || c.StartTimeout != 5*time.Second {
		t.Fatalf("decoded %+v", c)
	}
}
