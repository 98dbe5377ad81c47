package config

import (
	"fmt"
	"net"
	"strings"
)

// validateProxies checks http.trusted_proxies: each entry an IP address or
// a CIDR.
func (h HTTP) validateProxies() []error {
	var errs []error
	for i, p := range h.TrustedProxies {
		p = strings.TrimSpace(p)
		if _, _, err := net.ParseCIDR(p); err == nil {
			continue
		}
		if net.ParseIP(p) != nil {
			continue
		}
		errs = append(errs, fmt.Errorf("http.trusted_proxies[%d]: %q is not an IP address or CIDR (such as 10.0.0.0/8)", i, p))
	}
	return errs
}
