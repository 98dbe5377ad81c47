// Package rawread reads a TCP connection without entering the Go
// runtime's system-call state.
//
// A read through the net package is a system call the runtime is told
// of. One entered after every P was idle wakes the runtime's sysmon
// thread from its deep sleep, and sysmon then polls every 20 µs for
// about a millisecond before it backs off. A publisher's RTMP
// connection is read about a hundred times a second, each read between
// idle spells: that kept sysmon polling all the time. The socket is
// non-blocking, so the read never waits (an empty socket answers EAGAIN
// and the runtime's poller waits instead); made as a raw system call it
// leaves sysmon asleep.
//
// Nonblocking is the retry loop of such raw calls, shared with the
// WebRTC port's reads (sender) and sends (udpbatch).
package rawread

import "net"

// Conn wraps c so that its reads are raw system calls where this
// platform allows it (Linux, a *net.TCPConn); otherwise it returns c.
// Everything else (writes, deadlines, Close) is c's own.
func Conn(c net.Conn) net.Conn {
	if tc, ok := c.(*net.TCPConn); ok {
		if r := newConn(tc); r != nil {
			return r
		}
	}
	return c
}
