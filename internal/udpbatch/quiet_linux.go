//go:build linux

package udpbatch

import (
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// shareControl lets the socket share its port (SO_REUSEPORT), before it
// is bound. A refusal leaves it unshared: New then has no quiet socket.
func shareControl(_, _ string, rc syscall.RawConn) error {
	return rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
}

// steerToFirst is a classic BPF program for the port's SO_REUSEPORT
// group: it answers index 0, the group's first socket (the one Listen
// bound), for every datagram.
var steerToFirst = []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}

// openQuiet opens conn's quiet socket: its descriptor, -1 and no error
// when conn does not share its port, -1 and why otherwise. The program
// that steers every datagram to conn is attached while conn is alone in
// its group, so that none reaches the quiet socket, which nobody reads.
func openQuiet(conn net.PacketConn) (int, error) {
	rc := rawConn(conn)
	if rc == nil {
		return -1, nil
	}
	var (
		shared bool
		sa     unix.Sockaddr
		family int
		v6only int
		err    error
	)
	if cerr := rc.Control(func(fd uintptr) {
		var v int
		if v, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT); err != nil || v == 0 {
			err = nil
			return
		}
		shared = true
		if sa, err = unix.Getsockname(int(fd)); err != nil {
			err = fmt.Errorf("getsockname: %w", err)
			return
		}
		family = unix.AF_INET
		if _, ok := sa.(*unix.SockaddrInet6); ok {
			family = unix.AF_INET6
			if v6only, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err != nil {
				err = fmt.Errorf("IPV6_V6ONLY: %w", err)
				return
			}
		}
		prog := unix.SockFprog{Len: uint16(len(steerToFirst)), Filter: &steerToFirst[0]}
		if err = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &prog); err != nil {
			err = fmt.Errorf("SO_ATTACH_REUSEPORT_CBPF: %w", err)
		}
	}); cerr != nil {
		return -1, cerr
	}
	if !shared || err != nil {
		return -1, err
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err == nil && family == unix.AF_INET6 {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only)
	}
	if err == nil {
		if err = unix.Bind(fd, sa); err != nil {
			err = fmt.Errorf("bind: %w", err)
		}
	}
	if err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
