package rtmp

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cases := []struct {
		cfg Config
		key string
	}{
		{Config{MaxMessageSize: 11 << 20}, "rtmp.max_message_size"},
		{Config{MaxMessageSize: 1 << 20, MaxChunkSize: 2 << 20}, "rtmp.max_chunk_size"},
		{Config{MaxChunkSize: 64}, "rtmp.max_chunk_size"},
		{Config{Addr: ":1935", TLSAddr: ":1935"}, "rtmp.tls_addr"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", c.cfg, err, c.key)
		}
	}
}
