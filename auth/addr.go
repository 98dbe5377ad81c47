package auth

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// ClientKey is what per-address limits count a client address by: an IPv4
// address (or an IPv4-mapped IPv6 one) by itself, an IPv6 address by its
// /64, since one subscriber is usually given a whole /64. addr is an
// address as gin's Context.ClientIP gives it, or host:port; anything
// unparsable is its own key.
func ClientKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		host, _, serr := net.SplitHostPort(addr)
		if serr != nil {
			return addr
		}
		if ip, err = netip.ParseAddr(host); err != nil {
			return addr
		}
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// ParseTrustedProxies checks http.trusted_proxies: each entry an IP
// address or a CIDR. The HTTP router trusts X-Forwarded-For and X-Real-IP
// from these peers only.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var errs []error
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("http.trusted_proxies[%d]: %q is neither an IP address nor a CIDR", i, s))
			continue
		}
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, errors.Join(errs...)
}
