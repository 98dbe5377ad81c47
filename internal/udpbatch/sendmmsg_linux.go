//go:build linux

package udpbatch

import (
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/mutstream/mutstream/internal/rawread"
)

// rawWriter makes the sendmmsg system call itself, on the socket's
// descriptor (syscall.RawConn.Write, which holds the descriptor's write
// lock), with syscall.RawSyscall6: the runtime is not told of it, so the
// goroutine keeps its P, no P is handed off, and the runtime's sysmon
// thread is not woken from its deep sleep, as every syscall.Syscall
// after all Ps were idle does. That fits sendmmsg on Go's non-blocking
// socket: it never waits; a socket that takes no more answers EAGAIN,
// and then the poller waits (or, told to try, errWouldBlock returns).
// The message headers, I/O vectors and addresses are built in storage
// kept here, so that a call allocates nothing.
type rawWriter struct {
	rc   syscall.RawConn
	net  string
	slow writer // x/net's, for an address this does not build (a zoned IPv6 one)
	// try is set by the goroutine sending (Conn.setTry).
	try bool
	// quiet is the quiet socket's descriptor (WithQuiet), -1 for none;
	// a batch goes there first, and to the socket itself when it is
	// full. sendQ makes that call (sendQuiet; a test's full socket).
	quiet int
	sendQ func() bool

	hdrs  []mmsghdr
	iovs  []unix.Iovec
	addrs []unix.RawSockaddrInet6
	n     int           // messages in hdrs for the call
	sent  int           // what the call sent
	errno syscall.Errno // and its error
	call  func(fd uintptr) bool
}

// mmsghdr is Linux's struct mmsghdr.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// newRawWriter returns conn's raw writer, or nil when conn has no
// descriptor to write on.
func newRawWriter(conn net.PacketConn, slow writer) *rawWriter {
	rc := rawConn(conn)
	if rc == nil {
		return nil
	}
	w := &rawWriter{rc: rc, net: conn.LocalAddr().Network(), slow: slow, quiet: -1}
	w.call = w.sendmmsg
	w.sendQ = w.sendQuiet
	return w
}

// sendmmsg is the call on the socket's own descriptor fd; it says
// whether it is done (false: the poller waits for the socket to take
// more, then calls again). Told to try, a full socket is done, with
// errno EAGAIN.
func (w *rawWriter) sendmmsg(fd uintptr) bool {
	return w.sendOn(fd) || w.try
}

// sendQuiet is the call on the quiet socket; false when that socket
// takes no more for now.
func (w *rawWriter) sendQuiet() bool { return w.sendOn(uintptr(w.quiet)) }

// sendOn makes sendmmsg on descriptor fd: false when the socket takes no
// more for now (errno EAGAIN); sent and errno are the call's result.
func (w *rawWriter) sendOn(fd uintptr) bool {
	var ok bool
	w.sent, w.errno, ok = rawread.Nonblocking(func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&w.hdrs[0])), uintptr(w.n), 0, 0, 0)
		return r, e
	})
	return ok
}

// close closes the quiet socket, if there is one.
func (w *rawWriter) close() {
	if w.quiet >= 0 {
		_ = unix.Close(w.quiet)
		w.quiet = -1
	}
}

// write sends ms as x/net's WriteBatch does: how many went, and an error
// only when the first of them could not.
func (w *rawWriter) write(ms []ipv4.Message) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	if !w.pack(ms) {
		return w.slow(ms)
	}
	var err error
	if w.quiet < 0 || !w.sendQ() {
		err = w.rc.Write(w.call)
	}
	if err == nil && w.errno != 0 {
		if w.errno == syscall.EAGAIN { // told to try
			return 0, errWouldBlock
		}
		err = os.NewSyscallError("sendmmsg", w.errno)
	}
	if err != nil {
		return 0, &net.OpError{Op: "write", Net: w.net, Err: err}
	}
	return w.sent, nil
}

// pack builds the headers of ms, or says that it cannot (an address
// that is not a plain UDP one).
func (w *rawWriter) pack(ms []ipv4.Message) bool {
	iovs := 0
	for i := range ms {
		iovs += len(ms[i].Buffers)
	}
	if len(w.hdrs) < len(ms) {
		w.hdrs = make([]mmsghdr, len(ms))
		w.addrs = make([]unix.RawSockaddrInet6, len(ms))
	}
	if len(w.iovs) < iovs {
		w.iovs = make([]unix.Iovec, iovs)
	}
	k := 0
	for i := range ms {
		m := &ms[i]
		ua, ok := m.Addr.(*net.UDPAddr)
		if !ok || ua == nil || ua.Zone != "" {
			return false
		}
		salen := putSockaddr(&w.addrs[i], ua)
		if salen == 0 {
			return false
		}
		h := &w.hdrs[i].hdr
		*h = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&w.addrs[i])), Namelen: uint32(salen)}
		if n := len(m.Buffers); n > 0 {
			iov := w.iovs[k : k+n]
			for j, b := range m.Buffers {
				iov[j] = unix.Iovec{}
				if len(b) > 0 {
					iov[j].Base = &b[0]
				}
				iov[j].SetLen(len(b))
			}
			h.Iov = &iov[0]
			h.SetIovlen(n)
			k += n
		}
		if len(m.OOB) > 0 {
			h.Control = &m.OOB[0]
			h.SetControllen(len(m.OOB))
		}
	}
	w.n = len(ms)
	return true
}

// putSockaddr writes a's address into sa as x/net does (an IPv4 address,
// or IPv4-mapped one, as AF_INET; else AF_INET6) and returns its length,
// or 0 when a has no IP address.
func putSockaddr(sa *unix.RawSockaddrInet6, a *net.UDPAddr) int {
	port := (*[2]byte)(unsafe.Pointer(&sa.Port))
	port[0], port[1] = byte(a.Port>>8), byte(a.Port)
	if ip4 := a.IP.To4(); ip4 != nil {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		sa4.Family = unix.AF_INET
		copy(sa4.Addr[:], ip4)
		sa4.Zero = [8]uint8{}
		return unix.SizeofSockaddrInet4
	}
	if ip6 := a.IP.To16(); ip6 != nil {
		sa.Family = unix.AF_INET6
		sa.Flowinfo, sa.Scope_id = 0, 0
		copy(sa.Addr[:], ip6)
		return unix.SizeofSockaddrInet6
	}
	return 0
}
