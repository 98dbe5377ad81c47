//go:build !linux

package udpbatch

import (
	"net"

	"golang.org/x/net/ipv4"
)

// rawWriter is Linux's (sendmmsg_linux.go); elsewhere x/net writes.
type rawWriter struct {
	try   bool
	quiet int
}

func newRawWriter(net.PacketConn, writer) *rawWriter { return nil }

func (w *rawWriter) write([]ipv4.Message) (int, error) { return 0, nil }

func (w *rawWriter) close() {}
