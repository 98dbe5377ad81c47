package signaling

import (
	"strings"
	"testing"
	"time"
)

// TestDTLSRetransmitIntervalValidated: an interval out of range is refused
// with the key's name.
func TestDTLSRetransmitIntervalValidated(t *testing.T) {
	for _, d := range []time.Duration{0, time.Millisecond, 6 * time.Second} {
		c := DefaultConfig()
		c.DTLSRetransmitInterval = d
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "dtls_retransmit_interval") {
			t.Errorf("%v: %v, want an error naming dtls_retransmit_interval", d, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}
