//go:build !linux

package rawread

import "net"

// newConn has no raw read here: Conn returns the connection as it is.
func newConn(*net.TCPConn) net.Conn { return nil }
