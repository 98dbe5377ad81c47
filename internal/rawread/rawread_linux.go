//go:build linux

package rawread

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// conn is a TCP connection read with read(2) as a raw system call, on
// the descriptor's read lock (syscall.RawConn.Read): the poller waits
// while the socket is empty and honours the read deadline.
type conn struct {
	*net.TCPConn
	rc syscall.RawConn

	mu    sync.Mutex // one read at a time: the fields below are its
	b     []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

func newConn(c *net.TCPConn) *conn {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	r := &conn{TCPConn: c, rc: rc}
	r.fn = r.read
	return r
}

// Read reads as net.Conn's Read does: io.EOF at the peer's end, a
// *net.OpError otherwise (a deadline's os.ErrDeadlineExceeded, a closed
// connection's net.ErrClosed inside it).
func (c *conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.b = b
	err := c.rc.Read(c.fn)
	c.b = nil
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) {
			err = oe.Err
		}
		return 0, c.opError(err)
	}
	if c.errno != 0 {
		return 0, c.opError(os.NewSyscallError("read", c.errno))
	}
	if c.n == 0 {
		return 0, io.EOF
	}
	return c.n, nil
}

func (c *conn) opError(err error) error {
	return &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// read is the RawConn's read function: false to wait for the socket.
func (c *conn) read(fd uintptr) bool {
	var ok bool
	c.n, c.errno, ok = Nonblocking(func() (uintptr, syscall.Errno) {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.b[0])), uintptr(len(c.b)))
		return n, errno
	})
	return ok
}

// Nonblocking makes call, a raw system call on a non-blocking socket,
// again while it is interrupted (EINTR). It reports false when the
// socket has nothing for now (EAGAIN): the RawConn function that made
// it returns false, and the poller waits. Otherwise n and errno are the
// call's result.
func Nonblocking(call func() (uintptr, syscall.Errno)) (n int, errno syscall.Errno, ok bool) {
	for {
		r, e := call()
		switch e {
		case 0:
			return int(r), 0, true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, e, false
		default:
			return 0, e, true
		}
	}
}
