package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestTrustedProxiesValidation(t *testing.T) {
	for _, tc := range []struct {
		proxies []string
		bad     string
	}{
		{nil, ""},
		{[]string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "::1"}, ""},
		{[]string{"10.0.0.0/8", "proxy.example"}, "http.trusted_proxies[1]"},
		{[]string{"10.0.0.0/33"}, "http.trusted_proxies[0]"},
		{[]string{""}, "http.trusted_proxies[0]"},
	} {
		c := Default()
		c.HTTP.TrustedProxies = tc.proxies
		err := c.Validate()
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%q: %v, want valid", tc.proxies, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%q: %v, want an error naming %s", tc.proxies, err, tc.bad)
		}
	}
}

func TestHTTPKeysDecode(t *testing.T) {
	c := Default()
	if err := Decode(strings.NewReader("http:\n  trusted_proxies: [\"10.0.0.0/8\"]\n  metrics_token: m3tr1cs\n"), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.HTTP.TrustedProxies) != 1 || c.HTTP.TrustedProxies[0] != "10.0.0.0/8" || c.HTTP.MetricsToken != "m3tr1cs" {
		t.Fatalf("decoded http %+v", c.HTTP)
	}
	if len(Default().HTTP.TrustedProxies) != 0 || Default().HTTP.MetricsToken != "" {
		t.Fatalf("defaults %+v, want no trusted proxy and no metrics token", Default().HTTP)
	}
}

// sameHTTP compares http sections (not comparable with ==: a list), an
// empty list the same as none.
func sameHTTP(a, b HTTP) bool {
	if len(a.TrustedProxies) == 0 {
		a.TrustedProxies = nil
	}
	if len(b.TrustedProxies) == 0 {
		b.TrustedProxies = nil
	}
	return reflect.DeepEqual(a, b)
}
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
