package config

import (
	"strings"
	"testing"
)

func TestHTTPValidation(t *testing.T) {
	for _, tc := range []struct {
		yaml, key string
	}{
		{"http:\n  read_timeout: 0s\n", "http.read_timeout"},
		{"http:\n  write_timeout: -1s\n", "http.write_timeout"},
		{"http:\n  idle_timeout: 0s\n", "http.idle_timeout"},
		{"http:\n  read_header_timeout: 0s\n", "http.read_header_timeout"},
		{"http:\n  max_header_bytes: 10\n", "http.max_header_bytes"},
		{"http:\n  max_body_bytes: 10\n", "http.max_body_bytes"},
		{"http:\n  max_conns: -1\n", "http.max_conns"},
		{"http:\n  max_conns_per_addr: -1\n", "http.max_conns_per_addr"},
		{"http:\n  tls:\n    cert: a.pem\n", "http.tls"},
		{"http:\n  tls:\n    key: k.pem\n", "http.tls"},
		{"shutdown_timeout: -1s\n", "shutdown_timeout"},
		{"http:\n  tls:\n    crt: a.pem\n", "crt"},
	} {
		cfg := Default()
		err := Decode(strings.NewReader(tc.yaml), &cfg)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: error %v does not name %s", tc.yaml, err, tc.key)
		}
	}
	cfg := Default()
	if err := Decode(strings.NewReader("http:\n  max_conns: 0\n  max_conns_per_addr: 0\n  tls: {cert: c.pem, key: k.pem}\nshutdown_timeout: 0s\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	if !cfg.HTTP.TLS.Enabled() || cfg.HTTP.ReadTimeout != DefaultHTTP().ReadTimeout {
		t.Fatalf("decoded %+v", cfg.HTTP)
	}
}
