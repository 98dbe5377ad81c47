package sender

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mutstream/mutstream/internal/udpbatch"
	"github.com/mutstream/mutstream/metrics"
)

// Port is the server's WebRTC UDP port as pion's ICE mux reads it: writes
// pass through; a packet read that is SRTCP from the address of a viewer
// that sends directly (direct.go) is decrypted and handled by that viewer's
// send path at once, in the reading goroutine, and pion never sees it
// (nor a replay of it: dropped and counted). Such a viewer's STUN Binding
// Requests that verify are answered here too (port_stun.go). Everything
// else (other STUN, DTLS and SCTP, publishers, viewers through pion,
// SRTCP that does not decrypt) goes to pion as before.
//
// Through pion, each RTCP packet crosses five goroutines (the mux's reader,
// the candidate's, the connection's demultiplexer, the SRTCP session's and
// the sender's reader) before the link meter reads it; at hundreds of
// viewers each sending feedback every few tens of milliseconds, that was a
// fifth of the server's CPU.
type Port struct {
	net.PacketConn
	// udp is the socket under PacketConn, when it is one, and raw its
	// reader: read with the sender's address as a value, a packet taken
	// here allocates nothing (net.Addr is a new *net.UDPAddr per packet),
	// and on Linux the read does not wake the runtime (port_read_linux.go).
	udp *net.UDPConn
	raw *rawReader

	mu     sync.RWMutex
	routes map[netip.AddrPort]*directIn

	// handOver is how long pion's agent may hear nothing verified from a
	// direct viewer before the viewer's next STUN request goes to it
	// rather than being answered here (iceAnswer).
	handOver atomic.Int64
}

// defaultHandOver is the hand-over interval of a port not told another:
// half of the viewers' default disconnected_timeout.
const defaultHandOver = 2500 * time.Millisecond

// NewPort wraps conn, the one UDP port ICE runs on.
func NewPort(conn net.PacketConn) *Port {
	p := &Port{PacketConn: conn, routes: map[netip.AddrPort]*directIn{}}
	p.handOver.Store(int64(defaultHandOver))
	below := conn
	if bc, ok := conn.(*udpbatch.Conn); ok {
		below = bc.PacketConn // its reads pass through
	}
	p.udp, _ = below.(*net.UDPConn)
	if p.udp != nil {
		p.raw = newRawReader(p.udp)
	}
	if p.raw == nil {
		p.udp = nil
	}
	return p
}

// SetHandOver sets how long pion's ICE agent of a direct viewer may have
// heard nothing verified from the viewer before the viewer's next STUN
// Binding Request goes to it instead of being answered by the port: a
// little longer than the agent's keepalive interval, well within its
// disconnected timeout (half of it). Safe at any time.
func (p *Port) SetHandOver(d time.Duration) {
	if d > 0 {
		p.handOver.Store(int64(d))
	}
}

// ReadFrom returns the next packet that is pion's to read.
func (p *Port) ReadFrom(b []byte) (int, net.Addr, error) {
	if p.udp == nil {
		return p.readFrom(b)
	}
	for {
		n, ap, err := p.raw.read(b)
		if err != nil {
			return n, nil, err
		}
		if !p.took(b[:n], ap) {
			return n, net.UDPAddrFromAddrPort(ap), nil
		}
	}
}

// readFrom is ReadFrom on a connection that is not a UDP socket.
func (p *Port) readFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := p.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		ua, ok := addr.(*net.UDPAddr)
		if !ok || !p.took(b[:n], ua.AddrPort()) {
			return n, addr, err
		}
	}
}

// took says whether pkt, from ap, was SRTCP of a direct viewer, taken
// (decrypted and handled, or dropped as a replay), or a STUN Binding
// Request of one, answered (iceAnswer).
func (p *Port) took(pkt []byte, ap netip.AddrPort) bool {
	rtcp := isRTCP(pkt)
	if !rtcp && !isSTUN(pkt) {
		return false
	}
	p.mu.RLock()
	in := p.routes[routeKey(ap)]
	p.mu.RUnlock()
	if rtcp {
		return in != nil && in.take(pkt)
	}
	if in == nil || in.ice == nil {
		return toPion("no_route")
	}
	return in.ice.take(p.PacketConn, pkt, ap, time.Duration(p.handOver.Load()))
}

// route sends the SRTCP from addr to d's receiving side, unless d is
// closed.
func (p *Port) reroute(d *directOut, addr *net.UDPAddr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d.closed.Load() {
		return
	}
	p.forget(d.in)
	p.routes[routeKey(addr.AddrPort())] = d.in
}

// unroute closes d and forgets its routes: once it returns, no route to
// d is added again.
func (p *Port) unroute(d *directOut) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d.closed.Store(true)
	p.forget(d.in)
}

// forget deletes every route to in; p.mu is held.
func (p *Port) forget(in *directIn) {
	for ap, r := range p.routes {
		if r == in {
			delete(p.routes, ap)
		}
	}
}

// routeKey is addr as the routes know it: an IPv4 address in its 4-byte
// form, whichever form the socket or ICE gave.
func routeKey(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// isRTCP says whether b is an RTP-version packet with an RTCP packet type
// (RFC 5761 section 4: 192 to 223).
func isRTCP(b []byte) bool {
	return len(b) >= 8 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223
}

// directIn is a direct viewer's receiving side: the SRTCP context for what
// the viewer sends, and its send path, which takes the reports.
type directIn struct {
	sp    *sendPath
	taken atomic.Uint64 // compound packets handled
	// ice answers the viewer's STUN requests; nil: they go to pion.
	ice *iceAnswer

	mu  sync.Mutex
	dec rtcpDecrypter
	buf []byte
}

// take decrypts and handles one SRTCP packet from the viewer's address;
// false when it does not decrypt, for pion to read: another of the
// client's connections may share its address (one UDP socket for
// several), and pion, with that connection's keys, decrypts it, or
// rejects it as it should. A replay of a packet the viewer sent (its
// source already seen, its index not new) is counted and dropped:
// pion's SRTCP session, which never saw the original, would take it as
// new.
func (in *directIn) take(pkt []byte) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	out, err := in.dec.decryptRTCP(in.buf, pkt)
	if errors.Is(err, errSRTCPReplayed) {
		metrics.ViewerRTCPRejected.WithLabelValues("replay").Inc()
		return true
	}
	if err != nil {
		metrics.ViewerRTCPRejected.WithLabelValues("decrypt").Inc()
		return false
	}
	if cap(out) > cap(in.buf) {
		in.buf = out[:cap(out)]
	}
	if !in.sp.onRTCPBytes(out, time.Now()) {
		return true // authentic, but not RTCP that parses (counted): nobody can use it
	}
	in.taken.Add(1)
	return true
}
