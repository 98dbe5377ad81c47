// Package connlimit caps the connections a listener keeps open, in all and
// per client address.
package connlimit

import (
	"net"
	"sync"
)

// Reasons a connection is refused, as given to the refuse callback.
const (
	ReasonMax     = "max_conns"
	ReasonPerAddr = "max_conns_per_addr"
)

// Listener accepts connections while fewer than Max are open in all and
// fewer than PerAddr from the client's address; any other it closes at once
// (a client is refused, it never waits in a queue it cannot see). A zero
// cap is no cap.
type Listener struct {
	net.Listener
	max, perAddr int
	refused      func(reason string)

	mu     sync.Mutex
	open   int
	byAddr map[string]int
}

// New wraps ln. refused, when not nil, is called for each connection closed
// for lack of room, with ReasonMax or ReasonPerAddr.
func New(ln net.Listener, max, perAddr int, refused func(reason string)) *Listener {
	return &Listener{Listener: ln, max: max, perAddr: perAddr, refused: refused, byAddr: map[string]int{}}
}

// Accept returns the next connection there is room for.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := AddrKey(c.RemoteAddr())
		reason := l.admit(key)
		if reason == "" {
			return &conn{Conn: c, l: l, key: key}, nil
		}
		// Counted before the close: whoever sees the connection closed
		// finds it counted.
		if l.refused != nil {
			l.refused(reason)
		}
		_ = c.Close()
	}
}

// Open returns the number of connections open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

func (l *Listener) admit(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.open >= l.max {
		return ReasonMax
	}
	if l.perAddr > 0 && l.byAddr[key] >= l.perAddr {
		return ReasonPerAddr
	}
	l.open++
	l.byAddr[key]++
	return ""
}

func (l *Listener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byAddr[key]--; l.byAddr[key] <= 0 {
		delete(l.byAddr, key)
	}
}

// AddrKey is the client a connection counts against: its IP, or for IPv6
// its /64 (one host usually holds a whole /64).
func AddrKey(a net.Addr) string {
	var ip net.IP
	switch v := a.(type) {
	case *net.TCPAddr:
		ip = v.IP
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return a.String()
		}
		ip = net.ParseIP(host)
		if ip == nil {
			return host
		}
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

type conn struct {
	net.Conn
	l    *Listener
	key  string
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}
