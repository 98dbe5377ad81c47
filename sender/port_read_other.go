//go:build !linux

package sender

import (
	"net"
	"net/netip"
)

// rawReader is Linux's; elsewhere the port reads through the net package.
type rawReader struct{ c *net.UDPConn }

func newRawReader(c *net.UDPConn) *rawReader { return &rawReader{c: c} }

func (r *rawReader) read(b []byte) (int, netip.AddrPort, error) {
	return r.c.ReadFromUDPAddrPort(b)
}
