//go:build linux

package sender

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"github.com/mutstream/mutstream/internal/rawread"
)

// rawReader reads the port's socket with recvfrom as a raw system call:
// the socket is non-blocking, so the call never waits (an empty socket
// answers EAGAIN at once and the runtime's poller waits instead), and
// made raw it does not enter the runtime's system-call state. A
// system call entered while every P was idle wakes the runtime's sysmon
// thread, which then polls every 20 µs for a while: with hundreds of
// viewers' RTCP arriving between frames, that was thousands of thread
// wakeups a second.
type rawReader struct {
	rc syscall.RawConn

	mu    sync.Mutex // one read at a time: the fields below are its
	b     []byte
	n     int
	errno syscall.Errno
	sa    syscall.RawSockaddrAny
	salen uint32
	fn    func(fd uintptr) bool
}

// newRawReader reads c; nil when c has no file descriptor to read.
func newRawReader(c *net.UDPConn) *rawReader {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawReader{rc: rc}
	r.fn = r.recv
	return r
}

// read reads one datagram into b.
func (r *rawReader) read(b []byte) (int, netip.AddrPort, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.b = b
	err := r.rc.Read(r.fn)
	r.b = nil
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if r.errno != 0 {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Err: r.errno}
	}
	return r.n, r.from(), nil
}

// recv is the RawConn's read function: false to wait for the socket.
func (r *rawReader) recv(fd uintptr) bool {
	var p unsafe.Pointer
	if len(r.b) > 0 {
		p = unsafe.Pointer(&r.b[0])
	}
	var ok bool
	r.n, r.errno, ok = rawread.Nonblocking(func() (uintptr, syscall.Errno) {
		r.salen = uint32(unsafe.Sizeof(r.sa))
		n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(p), uintptr(len(r.b)), 0,
			uintptr(unsafe.Pointer(&r.sa)), uintptr(unsafe.Pointer(&r.salen)))
		return n, errno
	})
	return ok
}

// from is the sender's address of the datagram read.
func (r *rawReader) from() netip.AddrPort {
	switch r.sa.Addr.Family {
	case syscall.AF_INET:
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&r.sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port)
	case syscall.AF_INET6:
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&r.sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		addr := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 { // a link-local address keeps its interface
			addr = addr.WithZone(strconv.Itoa(int(sa.Scope_id)))
		}
		return netip.AddrPortFrom(addr, port)
	}
	return netip.AddrPort{}
}
