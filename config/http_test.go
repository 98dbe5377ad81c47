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
