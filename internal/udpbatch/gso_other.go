//go:build !linux

package udpbatch

import "net"

// Elsewhere than on Linux, packets are never coalesced.

const segmentDataOffset = 0

func segmentControl() []byte { return nil }

func gsoSupported(net.PacketConn) bool { return false }

func gsoRefusal(error) bool { return false }
