package adapt

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if got := (Config{}).normalized(); got != DefaultConfig() {
		t.Fatalf("zero config normalized to %+v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		field string
		set   func(*Config)
	}{
		{"min_estimate", func(c *Config) { c.MinEstimate = 0 }},
		{"max_estimate", func(c *Config) { c.MaxEstimate = c.MinEstimate }},
		{"drop_confirm", func(c *Config) { c.DropConfirm = 0 }},
		{"rise_alpha", func(c *Config) { c.RiseAlpha = 1.5 }},
		{"headroom", func(c *Config) { c.Headroom = 0.9 }},
		{"overuse_confirm", func(c *Config) { c.OveruseConfirm = 0 }},
		{"loss_down", func(c *Config) { c.LossDown = 0 }},
		{"nack_down", func(c *Config) { c.NACKDown = -1 }},
		{"nack_min_packets", func(c *Config) { c.NACKMinPackets = -1 }},
		{"down_settle", func(c *Config) { c.DownSettle = -time.Second }},
		{"up_margin", func(c *Config) { c.UpMargin = 1.1 }},
		{"hold_up", func(c *Config) { c.HoldUp = 0 }},
		{"fail_window", func(c *Config) { c.FailWindow = 0 }},
		{"max_hold_up", func(c *Config) { c.MaxHoldUp = time.Second }},
		{"hold_reset", func(c *Config) { c.HoldReset = 0 }},
		{"audio_only_ratio", func(c *Config) { c.AudioOnlyRatio = 2 }},
		{"audio_only_after", func(c *Config) { c.AudioOnlyAfter = -1 }},
		{"still_every", func(c *Config) { c.StillEvery = 0 }},
		{"probe_backoff", func(c *Config) { c.ProbeBackoff = 0 }},
		{"max_probe_backoff", func(c *Config) { c.MaxProbeBackoff = time.Second }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			c := DefaultConfig()
			tc.set(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.field)
			}
			// The caller prefixes the section ("webrtc: adapt: "): the
			// error must not name it again.
			if strings.HasPrefix(err.Error(), "adapt:") {
				t.Fatalf("Validate = %q, names its own section", err)
			}
			if n := c.normalized(); n.Validate() != nil {
				t.Fatalf("normalized still invalid: %v", n.Validate())
			}
		})
	}
}

// TestConfigYAML: every field has a snake_case key and decodes strictly.
func TestConfigYAML(t *testing.T) {
	out, err := yaml.Marshal(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"min_estimate:", "max_estimate:", "drop_confirm:", "rise_alpha:", "headroom:",
		"start_rung:", "overuse_confirm:", "loss_down:", "nack_down:", "nack_min_packets:", "down_settle:",
		"up_margin:", "hold_up:", "fail_window:", "max_hold_up:", "hold_reset:", "audio_only_ratio:",
		"audio_only_after:", "still_every:", "probe_backoff:", "max_probe_backoff:"} {
		if !strings.Contains(string(out), key) {
			t.Errorf("no key %s in\n%s", key, out)
		}
	}
	in := "hold_up: 5s\nup_margin: 1.5\nstart_rung: 180p\n"
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(in))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.HoldUp != 5*time.Second || c.UpMargin != 1.5 || c.StartRung != "180p" || c.LossDown != 0.10 {
		t.Fatalf("decoded %+v", c)
	}
	dec = yaml.NewDecoder(strings.NewReader("hold_upp: 5s\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil {
		t.Fatal("unknown key accepted")
	}
}
