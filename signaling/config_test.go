package signaling

import (
	"strings"
	"testing"
	"time"
)

// TestTimingKeysValidated: dtls_retransmit_interval and consent_timeout
// out of range are refused with the key's name.
func TestTimingKeysValidated(t *testing.T) {
	for _, tc := range []struct {
		key string
		set func(*Config, time.Duration)
		bad []time.Duration
	}{
		{"dtls_retransmit_interval", func(c *Config, d time.Duration) { c.DTLSRetransmitInterval = d }, []time.Duration{0, time.Millisecond, 6 * time.Second}},
		{"consent_timeout", func(c *Config, d time.Duration) { c.ConsentTimeout = d }, []time.Duration{0, 10 * time.Millisecond, time.Hour}},
	} {
		for _, d := range tc.bad {
			c := DefaultConfig()
			tc.set(&c, d)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Errorf("%s %v: %v, want an error naming %s", tc.key, d, err, tc.key)
			}
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}
