package udpbatch

import "golang.org/x/net/ipv4"

// Option sets up a Conn in New.
type Option func(*Conn)

// WithGSO turns UDP GSO on (the default) or off. With it, the packets
// that one destination is sent back to back go out as one message whose
// segments the kernel cuts into datagrams (Linux 4.18 and later): the
// receiver sees the same datagrams, the sender spends less per packet.
// Where the system lacks it, New leaves it off.
func WithGSO(on bool) Option {
	return func(c *Conn) { c.wantGSO = on }
}

// WithOnGSOOff has fn told when GSO, asked for, is off: at New
// ("unsupported": the socket has no UDP_SEGMENT option), or for good
// after the kernel refused a GSO message ("refused", with its error;
// the message's packets then went out one by one). fn is called at
// most once per Conn, from New or the flushing goroutine, and must not
// block.
func WithOnGSOOff(fn func(reason string, err error)) Option {
	return func(c *Conn) { c.onGSOOff = fn }
}

// writer sends messages as one sendmmsg does: it returns how many went,
// and an error only when the first of them could not.
type writer func(ms []ipv4.Message) (int, error)
