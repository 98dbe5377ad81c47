//go:build linux

package udpbatch

import (
	"errors"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// segmentDataOffset is where the UDP_SEGMENT value (a uint16, the GSO
// size) sits in its control message.
var segmentDataOffset = unix.CmsgLen(0)

// segmentControl returns a UDP_SEGMENT control message (level SOL_UDP)
// whose value is written at segmentDataOffset.
func segmentControl() []byte {
	b := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	return b
}

// rawConn is conn's descriptor for system calls of udpbatch's own, nil
// when it has none.
func rawConn(conn net.PacketConn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// gsoSupported reports whether the system offers UDP GSO on conn: it
// reads the socket's UDP_SEGMENT option (kernels before 4.18 lack it).
func gsoSupported(conn net.PacketConn) bool {
	rc := rawConn(conn)
	if rc == nil {
		return false
	}
	var optErr error
	if err := rc.Control(func(fd uintptr) {
		_, optErr = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
	}); err != nil {
		return false
	}
	return optErr == nil
}

// gsoRefusal reports whether err is how the kernel refuses a GSO
// message it cannot send: EIO (the device lacks checksum offload),
// EINVAL (a segment over the route's MTU), ENOPROTOOPT or EOPNOTSUPP
// (no UDP GSO), EMSGSIZE.
func gsoRefusal(err error) bool {
	for _, e := range []error{unix.EIO, unix.EINVAL, unix.ENOPROTOOPT, unix.EOPNOTSUPP, unix.EMSGSIZE} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
