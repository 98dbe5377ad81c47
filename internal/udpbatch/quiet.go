package udpbatch

import (
	"context"
	"net"
)

// Listen is net.ListenPacket for a socket that New sends from quietly:
// on Linux its port may be shared (SO_REUSEPORT), and New adds a second
// socket to it that only sends (see WithQuiet). Elsewhere, or where the
// option is refused, it is net.ListenPacket.
//
// A port that another socket holds is refused, as net.ListenPacket
// refuses it, even when that socket shares its port too (a second
// server started on the same port): the address is first bound by a
// socket that does not share it, then released and bound again, on the
// port that socket got, by one that does.
func Listen(network, address string) (net.PacketConn, error) {
	probe, err := net.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	_, port, err := net.SplitHostPort(probe.LocalAddr().String())
	_ = probe.Close()
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	lc := net.ListenConfig{Control: shareControl}
	return lc.ListenPacket(context.Background(), network, net.JoinHostPort(host, port))
}

// WithQuiet turns the quiet socket on (the default) or off. With it, and
// a socket from Listen, the batches go out through a second socket
// bound to the same address, one the runtime's poller does not watch,
// while every datagram that arrives is steered to the first (a
// SO_ATTACH_REUSEPORT_CBPF program that always picks it). Each datagram
// a socket sends makes it writable again, an edge that the poller wakes
// a thread for when the socket is watched: hundreds a second at a
// server's fan-out, every one for nothing. A full quiet socket hands its
// batch to the watched one, which waits in the poller as before.
func WithQuiet(on bool) Option {
	return func(c *Conn) { c.wantQuiet = on }
}

// WithOnQuietOff has fn told, from New, why the quiet socket could not
// be opened for a socket that shares its port; the Conn then sends from
// the socket itself. fn must not block.
func WithOnQuietOff(fn func(err error)) Option {
	return func(c *Conn) { c.onQuietOff = fn }
}

// Quiet reports whether the batches go out through the quiet socket.
func (c *Conn) Quiet() bool { return c.raw != nil && c.raw.quiet >= 0 }
