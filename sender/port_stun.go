package sender

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // STUN's MESSAGE-INTEGRITY is HMAC-SHA1 (RFC 8489 section 14.5)
	"encoding/binary"
	"hash"
	"hash/crc32"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/metrics"
)

// STUN as ICE uses it (RFC 8489, RFC 8445 section 7.1.1).
const (
	stunHeader     = 20
	stunCookie     = 0x2112A442
	stunBindingReq = 0x0001
	stunBindingOK  = 0x0101

	attrUsername     = 0x0006
	attrIntegrity    = 0x0008
	attrXORMapped    = 0x0020
	attrPriority     = 0x0024
	attrUseCandidate = 0x0025
	attrFingerprint  = 0x8028
	attrControlled   = 0x8029
	attrControlling  = 0x802A
	// attrNomination is renomination's attribute (pion and libwebrtc's
	// 0xC001): a nomination that may pick another pair, pion's to judge.
	attrNomination = 0xC001

	fingerprintXOR = 0x5354554e
	integrityLen   = 4 + sha1.Size // the attribute, header included
	fingerprintLen = 4 + 4
	// stunAnswerMax is the largest answer: a header, XOR-MAPPED-ADDRESS
	// of an IPv6 address, MESSAGE-INTEGRITY and FINGERPRINT.
	stunAnswerMax = stunHeader + 4 + 20 + integrityLen + fingerprintLen
)

// isSTUN says whether b may be a STUN message (RFC 7983: a first byte of
// 0 to 3, and RFC 8489's magic cookie).
func isSTUN(b []byte) bool {
	return len(b) >= stunHeader && b[0] < 4 && binary.BigEndian.Uint32(b[4:8]) == stunCookie
}

// stunMsg is what the port reads of a STUN message: its type and where
// the attributes it checks lie.
type stunMsg struct {
	typ         uint16
	username    []byte // the USERNAME's value, nil when absent
	integrity   int    // offset of MESSAGE-INTEGRITY, 0 when absent
	fingerprint int    // offset of FINGERPRINT, 0 when absent
	controlling bool   // ICE-CONTROLLING
	controlled  bool   // ICE-CONTROLLED
	// other: an attribute the port does not handle (comprehension-required
	// or renomination) is present: pion's to read.
	other bool
}

// parseSTUN reads b into m; false when b is not one well-formed STUN
// message, MESSAGE-INTEGRITY followed by nothing but FINGERPRINT, and
// FINGERPRINT last, each known attribute once and of its size.
func parseSTUN(b []byte, m *stunMsg) bool {
	*m = stunMsg{}
	if !isSTUN(b) || int(binary.BigEndian.Uint16(b[2:4]))+stunHeader != len(b) || len(b)%4 != 0 {
		return false
	}
	m.typ = binary.BigEndian.Uint16(b[0:2])
	for off := stunHeader; off < len(b); {
		if off+4 > len(b) {
			return false
		}
		typ, n := binary.BigEndian.Uint16(b[off:]), int(binary.BigEndian.Uint16(b[off+2:]))
		next := off + 4 + (n+3)&^3
		if next > len(b) {
			return false
		}
		switch {
		case m.fingerprint != 0:
			return false // FINGERPRINT is last
		case m.integrity != 0 && typ != attrFingerprint:
			return false // after MESSAGE-INTEGRITY, FINGERPRINT only
		}
		val := b[off+4 : off+4+n]
		switch typ {
		case attrUsername:
			if m.username != nil {
				return false
			}
			m.username = val
		case attrIntegrity:
			if n != sha1.Size {
				return false
			}
			m.integrity = off
		case attrFingerprint:
			if n != 4 {
				return false
			}
			m.fingerprint = off
		case attrControlling, attrControlled:
			if n != 8 {
				return false
			}
			m.controlling = m.controlling || typ == attrControlling
			m.controlled = m.controlled || typ == attrControlled
		case attrPriority:
			if n != 4 {
				return false
			}
		case attrUseCandidate:
			if n != 0 {
				return false
			}
		case attrNomination:
			m.other = true
		default:
			if typ < 0x8000 {
				m.other = true // comprehension-required, unknown here
			}
		}
		off = next
	}
	return true
}

// fingerprintOK says whether m's FINGERPRINT (RFC 8489 section 14.7) is
// present and right: FINGERPRINT is last, so the length in b's header
// is the one it was computed with.
func fingerprintOK(b []byte, m *stunMsg) bool {
	if m.fingerprint == 0 {
		return false
	}
	want := binary.BigEndian.Uint32(b[m.fingerprint+4:])
	return crc32.ChecksumIEEE(b[:m.fingerprint])^fingerprintXOR == want
}

// epoch is where the answerer's monotonic clock starts.
var epoch = time.Now()

// monoNow is the monotonic time since epoch.
func monoNow() time.Duration { return time.Since(epoch) }

// stunToPion holds the counters of STUN left to pion, by reason, looked
// up once (a label lookup per packet would cost more than the count).
var stunToPion = func() map[string]interface{ Inc() } {
	m := map[string]interface{ Inc() }{}
	for _, r := range []string{"no_route", "address", "malformed", "response", "not_request", "username", "fingerprint", "integrity", "role", "attribute", "refresh", "restart", "write"} {
		m[r] = metrics.ViewerSTUNToPion.WithLabelValues(r)
	}
	return m
}()

// toPion counts a STUN message left to pion, for reason; it returns
// false (not taken) for the caller's convenience.
func toPion(reason string) bool {
	stunToPion[reason].Inc()
	return false
}

// iceAnswer answers a direct viewer's STUN Binding Requests on the port,
// in the reading goroutine, as pion's agent would (RFC 8445 section
// 7.3.1), when they verify: a Binding Request from the address that the
// viewer's RTP goes to, with USERNAME "<local ufrag>:<remote ufrag>",
// MESSAGE-INTEGRITY under the local password and FINGERPRINT, sent by
// the controlling agent (ICE-CONTROLLING, mediad being controlled),
// with no attribute that pion's selection would act on but
// USE-CANDIDATE. A nomination of the pair already selected (the only one
// routed here) changes nothing in a controlled agent, and Chrome puts
// USE-CANDIDATE in every check on its selected pair. Anything else goes
// to pion as before.
//
// pion's agent marks the pair disconnected when its remote candidate
// has sent nothing it read for disconnected_timeout (failed, and the
// viewer ends, failed_timeout later). Once the viewer's SRTCP is taken
// off the port (directIn) and its requests are answered here, what pion
// still reads of it are the answers to its own keepalive checks, every
// keepalive interval (the viewer API's is 2/5 of disconnected_timeout,
// signaling's settingEngine): enough while they arrive, one lost answer
// tolerated. To make up for lost answers, the answerer watches pion's
// side too: an answer to pion's check that verifies (the remote
// password's integrity) counts as pion having heard the viewer, and
// when pion has heard nothing verified for the port's hand-over
// interval (half of disconnected_timeout, a little longer than the
// keepalive interval so that a punctual answer keeps it quiet), the
// next verified request is handed to pion instead of answered: its
// agent answers it and sees the viewer alive. With clients checking
// every 2 s (pion), 2.5 s (Chrome) or about 5 s (Firefox's RFC 7675
// consent checks), pion reads one request in several, and none while
// its own checks are answered; its own checks keep consent fresh on
// mediad's side as before (RFC 7675 section 5.1), and it still ends a
// viewer that stops answering.
type iceAnswer struct {
	// addr is the viewer's address as the direct writer sends to it.
	addr       *atomic.Pointer[net.UDPAddr]
	username   []byte // "<local ufrag>:<remote ufrag>"
	controlled bool   // mediad's agent is the controlled one
	heard      atomic.Int64
	answered   atomic.Uint64 // requests answered here
	// stale is set by the first request from the viewer's address under
	// another USERNAME: an ICE restart gave the session new credentials,
	// which the port does not hold, so from then on all its STUN is
	// pion's (nothing is answered under credentials that may be old).
	stale atomic.Bool

	mu       sync.Mutex
	localMAC hash.Hash // HMAC-SHA1 under the local password
	peerMAC  hash.Hash // under the remote password: answers to pion's checks
	hdr      [stunHeader]byte
	mac      [sha1.Size]byte
	out      [stunAnswerMax]byte
}

// newICEAnswer answers requests for the ICE session of it, mediad's agent,
// to the address in addr.
func newICEAnswer(it *webrtc.ICETransport, addr *atomic.Pointer[net.UDPAddr]) (*iceAnswer, error) {
	local, err := it.GetLocalParameters()
	if err != nil {
		return nil, err
	}
	remote, err := it.GetRemoteParameters()
	if err != nil {
		return nil, err
	}
	return newICEAnswerCreds(local, remote, it.Role() == webrtc.ICERoleControlled, addr), nil
}

// newICEAnswerCreds is newICEAnswer with the credentials given.
func newICEAnswerCreds(local, remote webrtc.ICEParameters, controlled bool, addr *atomic.Pointer[net.UDPAddr]) *iceAnswer {
	a := &iceAnswer{
		addr:       addr,
		username:   []byte(local.UsernameFragment + ":" + remote.UsernameFragment),
		controlled: controlled,
		localMAC:   hmac.New(sha1.New, []byte(local.Password)),
		peerMAC:    hmac.New(sha1.New, []byte(remote.Password)),
	}
	a.heard.Store(int64(monoNow())) // pion's agent has just connected
	return a
}

// take handles pkt, a STUN message from ap, whose route leads to a's
// viewer; true when it answered it. handOver is how long pion's agent
// may have heard nothing verified from the viewer before a request goes
// to it.
func (a *iceAnswer) take(conn net.PacketConn, pkt []byte, ap netip.AddrPort, handOver time.Duration) bool {
	var m stunMsg
	if !parseSTUN(pkt, &m) {
		return toPion("malformed")
	}
	switch m.typ {
	case stunBindingOK:
		if a.answerOfPeer(pkt, &m) {
			a.heard.Store(int64(monoNow()))
		}
		return toPion("response")
	case stunBindingReq:
	default:
		return toPion("not_request")
	}
	to := a.addr.Load()
	if to == nil || routeKey(to.AddrPort()) != routeKey(ap) {
		return toPion("address") // the pair is moving
	}
	if a.stale.Load() {
		return toPion("restart")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if reason := a.verify(pkt, &m); reason != "" {
		if reason == "username" {
			a.stale.Store(true)
		}
		return toPion(reason)
	}
	if now := monoNow(); now-time.Duration(a.heard.Load()) > handOver {
		a.heard.Store(int64(now))
		return toPion("refresh")
	}
	// The write queues a copy in the port's batch (or sends it on a
	// plain socket): it does not wait on the network.
	if _, err := conn.WriteTo(a.answer(pkt, ap), to); err != nil {
		return toPion("write")
	}
	a.answered.Add(1)
	metrics.ViewerSTUNAnswered.Inc()
	return true
}

// verify says why the request in pkt is not the port's to answer, ""
// when it is. a.mu is held.
func (a *iceAnswer) verify(pkt []byte, m *stunMsg) string {
	switch {
	case string(m.username) != string(a.username):
		return "username"
	case !fingerprintOK(pkt, m):
		return "fingerprint"
	case m.integrity == 0 || !a.integrityOK(a.localMAC, pkt, m.integrity):
		return "integrity"
	case !a.controlled || m.controlled || !m.controlling:
		return "role"
	case m.other:
		return "attribute"
	}
	return ""
}

// answerOfPeer says whether pkt, a Binding Success Response, carries the
// viewer's integrity (its password, that pion's checks use) and a right
// FINGERPRINT.
func (a *iceAnswer) answerOfPeer(pkt []byte, m *stunMsg) bool {
	if m.integrity == 0 || !fingerprintOK(pkt, m) {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.integrityOK(a.peerMAC, pkt, m.integrity)
}

// integrityOK checks the MESSAGE-INTEGRITY at off in pkt with mac (RFC
// 8489 section 14.5): the HMAC of what precedes it, with the header's
// length counting up to its end. a.mu is held.
func (a *iceAnswer) integrityOK(mac hash.Hash, pkt []byte, off int) bool {
	copy(a.hdr[:], pkt[:stunHeader])
	binary.BigEndian.PutUint16(a.hdr[2:], uint16(off+integrityLen-stunHeader))
	mac.Reset()
	mac.Write(a.hdr[:])
	mac.Write(pkt[stunHeader:off])
	return hmac.Equal(mac.Sum(a.mac[:0]), pkt[off+4:off+integrityLen])
}

// answer builds, in a.out, the Binding Success Response to the request
// req from ap: its transaction, XOR-MAPPED-ADDRESS of ap,
// MESSAGE-INTEGRITY under the local password and FINGERPRINT. a.mu is
// held.
func (a *iceAnswer) answer(req []byte, ap netip.AddrPort) []byte {
	b := a.out[:]
	binary.BigEndian.PutUint16(b[0:], stunBindingOK)
	copy(b[4:stunHeader], req[4:stunHeader]) // cookie and transaction ID
	ip := ap.Addr().Unmap()
	n := stunHeader
	binary.BigEndian.PutUint16(b[n:], attrXORMapped)
	b[n+4] = 0
	binary.BigEndian.PutUint16(b[n+6:], ap.Port()^uint16(stunCookie>>16))
	if ip.Is4() {
		binary.BigEndian.PutUint16(b[n+2:], 8)
		b[n+5] = 1
		v4 := ip.As4()
		for i := range 4 {
			b[n+8+i] = v4[i] ^ b[4+i]
		}
		n += 12
	} else {
		binary.BigEndian.PutUint16(b[n+2:], 20)
		b[n+5] = 2
		v6 := ip.As16()
		for i := range 16 {
			b[n+8+i] = v6[i] ^ b[4+i] // the cookie, then the transaction ID
		}
		n += 24
	}
	binary.BigEndian.PutUint16(b[2:], uint16(n+integrityLen-stunHeader))
	a.localMAC.Reset()
	a.localMAC.Write(b[:n])
	binary.BigEndian.PutUint16(b[n:], attrIntegrity)
	binary.BigEndian.PutUint16(b[n+2:], sha1.Size)
	a.localMAC.Sum(b[n+4 : n+4])
	n += integrityLen
	binary.BigEndian.PutUint16(b[2:], uint16(n+fingerprintLen-stunHeader))
	crc := crc32.ChecksumIEEE(b[:n]) ^ fingerprintXOR
	binary.BigEndian.PutUint16(b[n:], attrFingerprint)
	binary.BigEndian.PutUint16(b[n+2:], 4)
	binary.BigEndian.PutUint32(b[n+4:], crc)
	return b[:n+fingerprintLen]
}
