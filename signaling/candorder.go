package signaling

import (
	"net"
	"net/netip"
	"sort"
	"strings"
)

// Candidate ranks in an answer, best first.
const (
	rankPublic       = iota // a configured public (NAT) address
	rankLoopbackPeer        // loopback, for a peer whose offer lists loopback candidates
	rankReachable           // on an interface whose subnet holds a peer address
	rankFamily              // the family of a peer address
	rankOther               // any other non-loopback host
	rankLoopback            // loopback, for a peer known on loopback by its HTTP address alone
	rankNotHost             // server-reflexive and relay candidates keep their place after hosts
)

// candidateOrder puts an answer's candidates in a stable order that a
// client which tries only the first host candidate (FFmpeg's WHIP muxer)
// can use: the configured public addresses first, then the address on the
// interface that can reach the peer, then the rest by family and address.
// Loopback candidates are left out unless the peer itself is on loopback.
// A peer known on loopback only by its HTTP address may be a reverse proxy
// on this machine in front of a remote client: loopback then comes last.
type candidateOrder struct {
	public    []netip.Addr
	peers     []netip.Addr
	fromOffer bool           // peers come from the offer's candidates
	nets      []netip.Prefix // this machine's interface subnets
}

// newCandidateOrder learns the peer from the offer's candidates and,
// when the offer has none (FFmpeg sends none), from the HTTP client's
// address.
func newCandidateOrder(public []string, offer, clientIP string) *candidateOrder {
	o := &candidateOrder{}
	for _, p := range public {
		if a, err := netip.ParseAddr(p); err == nil {
			o.public = append(o.public, a.Unmap())
		}
	}
	for _, l := range strings.Split(offer, "\n") {
		if a, ok := candidateAddr(strings.TrimSpace(l)); ok {
			o.peers = append(o.peers, a)
		}
	}
	o.fromOffer = len(o.peers) > 0
	if len(o.peers) == 0 {
		if a, err := netip.ParseAddr(clientIP); err == nil {
			o.peers = append(o.peers, a.Unmap())
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
					ones, _ := ipn.Mask.Size()
					o.nets = append(o.nets, netip.PrefixFrom(ip.Unmap(), ones).Masked())
				}
			}
		}
	}
	return o
}

// candidateAddr parses the address of an "a=candidate:" line; mDNS names
// and anything unparsable are not addresses.
func candidateAddr(line string) (netip.Addr, bool) {
	if !strings.HasPrefix(line, "a=candidate:") {
		return netip.Addr{}, false
	}
	f := strings.Fields(line)
	if len(f) < 8 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(f[4])
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func (o *candidateOrder) peerLoopback() bool {
	for _, p := range o.peers {
		if p.IsLoopback() {
			return true
		}
	}
	return false
}

// rank places one candidate line; keep is false for a loopback candidate
// offered to a peer that is not on loopback.
func (o *candidateOrder) rank(line string) (rank int, keep bool) {
	a, ok := candidateAddr(line)
	if !ok {
		return rankNotHost, true
	}
	if f := strings.Fields(line); f[7] != "host" {
		return rankNotHost, true
	}
	for _, p := range o.public {
		if p == a {
			return rankPublic, true
		}
	}
	if a.IsLoopback() {
		// A peer that offers loopback candidates reaches loopback best
		// of all; one whose HTTP address alone is loopback may be a
		// proxy's, so its loopback comes after every other host.
		if o.peerLoopback() {
			if o.fromOffer {
				return rankLoopbackPeer, true
			}
			return rankLoopback, true
		}
		return rankLoopback, false
	}
	for _, n := range o.nets {
		if !n.Contains(a) {
			continue
		}
		for _, p := range o.peers {
			if n.Contains(p) {
				return rankReachable, true
			}
		}
	}
	for _, p := range o.peers {
		if p.Is4() == a.Is4() && !p.IsLoopback() {
			return rankFamily, true
		}
	}
	return rankOther, true
}

// apply reorders the candidate lines of each media section of sdp.
func (o *candidateOrder) apply(sdp string) string {
	lines := strings.SplitAfter(sdp, "\n")
	out := make([]string, 0, len(lines))
	var block []string
	flush := func() {
		type ranked struct {
			line string
			rank int
			addr netip.Addr
		}
		var rs, dropped []ranked
		hosts := 0
		for _, l := range block {
			r, keep := o.rank(strings.TrimSpace(l))
			a, _ := candidateAddr(strings.TrimSpace(l))
			if !keep {
				dropped = append(dropped, ranked{l, r, a})
				continue
			}
			if r != rankNotHost {
				hosts++
			}
			rs = append(rs, ranked{l, r, a})
		}
		if hosts == 0 {
			// Loopback is the only host: better than none.
			rs = append(rs, dropped...)
		}
		sort.SliceStable(rs, func(i, j int) bool {
			if rs[i].rank != rs[j].rank {
				return rs[i].rank < rs[j].rank
			}
			if rs[i].rank == rankNotHost {
				return false
			}
			if rs[i].addr.Is4() != rs[j].addr.Is4() {
				return rs[i].addr.Is4()
			}
			return rs[i].addr.Less(rs[j].addr)
		})
		for _, r := range rs {
			out = append(out, r.line)
		}
		block = block[:0]
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "a=candidate:") {
			block = append(block, l)
			continue
		}
		flush()
		out = append(out, l)
	}
	flush()
	return strings.Join(out, "")
}
