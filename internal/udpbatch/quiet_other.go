//go:build !linux

package udpbatch

import (
	"net"
	"syscall"
)

// shareControl shares nothing here: there is no quiet socket.
func shareControl(string, string, syscall.RawConn) error { return nil }

func openQuiet(net.PacketConn) (int, error) { return -1, nil }
