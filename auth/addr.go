package auth

import (
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
