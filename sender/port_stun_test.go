package sender

import (
	"bytes"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/metrics"
)

// The ICE credentials of the tests' sessions: mediad's (local) and the
// client's (remote).
var (
	stunLocal  = webrtc.ICEParameters{UsernameFragment: "srvU", Password: "server-password-0123456789"}
	stunRemote = webrtc.ICEParameters{UsernameFragment: "cliU", Password: "client-password-0123456789"}
)

// sentinel is neither STUN nor RTCP: always pion's, it shows that what
// was sent before it was taken.
var sentinel = []byte{0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}

// stunRoute is a port with a routed client whose STUN the port answers
// as mediad's side of a session with the tests' credentials.
type stunRoute struct {
	p      *Port
	in     *directIn
	client *net.UDPConn
	from   netip.AddrPort // the client's address
	to     netip.AddrPort // the port's
}

func newSTUNRoute(t *testing.T, batch bool) *stunRoute {
	t.Helper()
	p := testPort(t, batch)
	in := &directIn{}
	client, from, to := routedClient(t, p, in)
	var addr atomic.Pointer[net.UDPAddr]
	addr.Store(net.UDPAddrFromAddrPort(from))
	in.ice = newICEAnswerCreds(stunLocal, stunRemote, true, &addr)
	return &stunRoute{p: p, in: in, client: client, from: from, to: to}
}

// request builds a Binding Request with the attributes given between its
// type and its integrity, signed with pwd.
func request(t testing.TB, pwd string, attrs ...stun.Setter) []byte {
	t.Helper()
	setters := append([]stun.Setter{stun.BindingRequest, stun.TransactionID}, attrs...)
	setters = append(setters, stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
	m, err := stun.Build(setters...)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

// goodRequest is what a controlling client sends on the selected pair.
func goodRequest(t testing.TB, extra ...stun.Setter) []byte {
	attrs := append([]stun.Setter{stun.NewUsername(stunLocal.UsernameFragment + ":" + stunRemote.UsernameFragment), ice.AttrControlling(7), ice.PriorityAttr(1234)}, extra...)
	return request(t, stunLocal.Password, attrs...)
}

// sendThenRead sends pkts from c, then the sentinel, and returns what
// pion reads off the port, up to the sentinel.
func (r *stunRoute) sendThenRead(t *testing.T, c *net.UDPConn, pkts ...[]byte) [][]byte {
	t.Helper()
	for _, b := range append(pkts, sentinel) {
		if _, err := c.WriteToUDPAddrPort(b, r.to); err != nil {
			t.Fatal(err)
		}
	}
	var got [][]byte
	buf := make([]byte, 1500)
	for {
		n, _, err := r.p.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(buf[:n], sentinel) {
			return got
		}
		got = append(got, bytes.Clone(buf[:n]))
	}
}

// answer reads the port's answer off the client's socket.
func (r *stunRoute) answer(t *testing.T) *stun.Message {
	t.Helper()
	_ = r.client.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1500)
	n, from, err := r.client.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if from != r.to {
		t.Fatalf("answer from %v, want the port %v", from, r.to)
	}
	m := &stun.Message{Raw: bytes.Clone(buf[:n])}
	if err := m.Decode(); err != nil {
		t.Fatalf("answer does not decode: %v", err)
	}
	return m
}

// A verified request from the routed client is answered by the port, not
// read by pion: a Binding Success Response of the same transaction,
// with the client's address in XOR-MAPPED-ADDRESS, the local password's
// integrity and a FINGERPRINT, as pion's agent would check it; through
// the write batcher too. USE-CANDIDATE (Chrome's checks on its selected
// pair) does not stop it.
func TestPortAnswersBindingRequest(t *testing.T) {
	for _, batch := range []bool{false, true} {
		for _, useCandidate := range []bool{false, true} {
			r := newSTUNRoute(t, batch)
			answered := testutil.ToFloat64(metrics.ViewerSTUNAnswered)
			var extra []stun.Setter
			if useCandidate {
				extra = append(extra, ice.UseCandidate())
			}
			req := goodRequest(t, extra...)
			if got := r.sendThenRead(t, r.client, req); len(got) != 0 {
				t.Fatalf("batch %v, use-candidate %v: pion read %d packets, want none", batch, useCandidate, len(got))
			}
			m := r.answer(t)
			checkAnswer(t, m, req, r.from)
			if n := r.in.ice.answered.Load(); n != 1 {
				t.Fatalf("%d requests answered, want 1", n)
			}
			if d := testutil.ToFloat64(metrics.ViewerSTUNAnswered) - answered; d != 1 {
				t.Fatalf("answered counted %v times, want 1", d)
			}
		}
	}
}

// checkAnswer checks m as pion's agent checks a success response to req
// from addr.
func checkAnswer(t *testing.T, m *stun.Message, req []byte, addr netip.AddrPort) {
	t.Helper()
	if m.Type != stun.BindingSuccess {
		t.Fatalf("answer of type %v, want a binding success", m.Type)
	}
	if !bytes.Equal(m.TransactionID[:], req[8:20]) {
		t.Fatal("answer of another transaction")
	}
	var xa stun.XORMappedAddress
	if err := xa.GetFrom(m); err != nil {
		t.Fatal(err)
	}
	if ip, ok := netip.AddrFromSlice(xa.IP); !ok || netip.AddrPortFrom(ip.Unmap(), uint16(xa.Port)) != addr {
		t.Fatalf("XOR-MAPPED-ADDRESS %v:%d, want %v", xa.IP, xa.Port, addr)
	}
	if err := stun.NewShortTermIntegrity(stunLocal.Password).Check(m); err != nil {
		t.Fatalf("integrity: %v", err)
	}
	if err := stun.Fingerprint.Check(m); err != nil {
		t.Fatalf("fingerprint: %v", err)
	}
}

// Whatever is not a verified Binding Request of the session, from the
// routed address, with nothing for pion's role or nomination logic in
// it, goes to pion untouched, counted by reason, and is not answered.
func TestPortLeavesSTUNToPion(t *testing.T) {
	user := stun.NewUsername(stunLocal.UsernameFragment + ":" + stunRemote.UsernameFragment)
	badFingerprint := goodRequest(t)
	badFingerprint[len(badFingerprint)-1] ^= 1
	indication := func() []byte {
		m, err := stun.Build(stun.NewType(stun.MethodBinding, stun.ClassIndication), stun.TransactionID, user, ice.AttrControlling(7), stun.NewShortTermIntegrity(stunLocal.Password), stun.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		return m.Raw
	}()
	response := func(pwd string) []byte {
		m, err := stun.Build(stun.BindingSuccess, stun.TransactionID, &stun.XORMappedAddress{IP: net.IPv4(127, 0, 0, 1), Port: 9}, stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		return m.Raw
	}
	for _, tc := range []struct {
		name, reason string
		pkt          []byte
		other        bool // from an address that is not routed
	}{
		{"wrong local ufrag", "username", request(t, stunLocal.Password, stun.NewUsername("nope:"+stunRemote.UsernameFragment), ice.AttrControlling(7)), false},
		{"wrong remote ufrag", "username", request(t, stunLocal.Password, stun.NewUsername(stunLocal.UsernameFragment+":nope"), ice.AttrControlling(7)), false},
		{"no username", "username", request(t, stunLocal.Password, ice.AttrControlling(7)), false},
		{"wrong password", "integrity", request(t, stunRemote.Password, user, ice.AttrControlling(7)), false},
		{"wrong fingerprint", "fingerprint", badFingerprint, false},
		{"not routed", "no_route", goodRequest(t), true},
		{"indication", "not_request", indication, false},
		{"response", "response", response(stunRemote.Password), false},
		{"controlled client", "role", request(t, stunLocal.Password, user, ice.AttrControlled(7)), false},
		{"no role", "role", request(t, stunLocal.Password, user), false},
		{"renomination", "attribute", goodRequest(t, &ice.NominationAttribute{Value: 2}), false},
		{"truncated", "malformed", goodRequest(t)[:60], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newSTUNRoute(t, false)
			c := r.client
			if tc.other {
				var err error
				if c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			counter := metrics.ViewerSTUNToPion.WithLabelValues(tc.reason)
			before := testutil.ToFloat64(counter)
			got := r.sendThenRead(t, c, tc.pkt)
			if len(got) != 1 || !bytes.Equal(got[0], tc.pkt) {
				t.Fatalf("pion read %d packets, want the message as sent", len(got))
			}
			if d := testutil.ToFloat64(counter) - before; d != 1 {
				t.Fatalf("counted %v times as %s, want 1", d, tc.reason)
			}
			if n := r.in.ice.answered.Load(); n != 0 {
				t.Fatalf("%d answered, want none", n)
			}
			_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if n, _, err := c.ReadFromUDPAddrPort(make([]byte, 1500)); err == nil {
				t.Fatalf("the port answered (%d bytes)", n)
			}
		})
	}
}

// A request from a routed address that the direct writer no longer sends
// to (its pair is moving) is pion's.
func TestPortLeavesMovingRouteToPion(t *testing.T) {
	r := newSTUNRoute(t, false)
	r.in.ice.addr.Store(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(r.from.Port()) + 1})
	req := goodRequest(t)
	if got := r.sendThenRead(t, r.client, req); len(got) != 1 || !bytes.Equal(got[0], req) {
		t.Fatalf("pion read %d packets, want the request", len(got))
	}
}

// When pion's agent has heard nothing verified from the viewer for the
// hand-over interval, the next verified request is handed to it, once,
// and the following answered; an answer to pion's own check that carries
// the client's integrity counts as heard, one that does not, not.
func TestPortHandsPionARequestWhenItHeardNothing(t *testing.T) {
	r := newSTUNRoute(t, false)
	r.p.SetHandOver(time.Hour)
	stale := int64(monoNow() - 2*time.Hour)
	r.in.ice.heard.Store(stale)
	req := goodRequest(t)
	if got := r.sendThenRead(t, r.client, req, req); len(got) != 1 || !bytes.Equal(got[0], req) {
		t.Fatalf("pion read %d packets, want the first request", len(got))
	}
	r.answer(t)
	if n := r.in.ice.answered.Load(); n != 1 {
		t.Fatalf("%d answered, want the second request", n)
	}

	forged := func(pwd string) []byte {
		m, err := stun.Build(stun.BindingSuccess, stun.TransactionID, stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		return m.Raw
	}
	r.in.ice.heard.Store(stale)
	r.sendThenRead(t, r.client, forged(stunLocal.Password)) // not the client's password
	if r.in.ice.heard.Load() != stale {
		t.Fatal("an answer without the client's integrity counted as heard")
	}
	r.sendThenRead(t, r.client, forged(stunRemote.Password))
	if r.in.ice.heard.Load() == stale {
		t.Fatal("the client's answer to pion's check not counted as heard")
	}
}

// An answered request allocates nothing: the parse, both hashes and the
// answer reuse the route's buffers. (Only the sentinel, handed to pion,
// has its address made.) On a plain socket: the write batcher's own
// costs are its tests'.
func TestPortAnswersWithoutAllocating(t *testing.T) {
	r := newSTUNRoute(t, false)
	req := goodRequest(t, ice.UseCandidate())
	const per = 10
	buf, ans := make([]byte, 1500), make([]byte, 1500)
	allocs := testing.AllocsPerRun(50, func() {
		for range per {
			_, _ = r.client.WriteToUDPAddrPort(req, r.to)
		}
		_, _ = r.client.WriteToUDPAddrPort(sentinel, r.to)
		if n, _, err := r.p.ReadFrom(buf); err != nil || !bytes.Equal(buf[:n], sentinel) {
			t.Fatalf("pion read %d bytes (%v), want the sentinel", n, err)
		}
		for range per {
			_ = r.client.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, _, err := r.client.ReadFromUDPAddrPort(ans); err != nil {
				t.Fatal(err)
			}
		}
	})
	if n := r.in.ice.answered.Load(); n != 51*per {
		t.Fatalf("%d answered, want %d", n, 51*per)
	}
	if allocs > 2 {
		t.Fatalf("%v allocations per %d answered requests and one packet for pion, want 2 (the latter's address and IP)", allocs, per)
	}
}

// Answering to an IPv6 client puts its address in XOR-MAPPED-ADDRESS,
// masked with the transaction ID, as pion reads it.
func TestSTUNAnswerIPv6(t *testing.T) {
	var addr atomic.Pointer[net.UDPAddr]
	a := newICEAnswerCreds(stunLocal, stunRemote, true, &addr)
	req := goodRequest(t)
	checkBuiltAnswer(t, a, req, netip.MustParseAddrPort("[2001:db8::7]:4567"))
}

// checkBuiltAnswer checks a's answer to req from ap as checkAnswer does.
func checkBuiltAnswer(t *testing.T, a *iceAnswer, req []byte, ap netip.AddrPort) {
	t.Helper()
	m := &stun.Message{Raw: bytes.Clone(a.answer(req, ap))}
	if err := m.Decode(); err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, m, req, ap)
}

// FuzzParseSTUN: the parser never panics, and what the port would answer
// (a verified request) pion's own checks accept too: its type,
// USERNAME, MESSAGE-INTEGRITY and FINGERPRINT; the answer built for it
// passes them as well.
func FuzzParseSTUN(f *testing.F) {
	f.Add(goodRequest(f))
	f.Add(goodRequest(f, ice.UseCandidate()))
	f.Add(request(f, stunLocal.Password, stun.NewUsername("a:b")))
	m, _ := stun.Build(stun.BindingSuccess, stun.TransactionID, stun.NewShortTermIntegrity(stunRemote.Password), stun.Fingerprint)
	f.Add(m.Raw)
	f.Add([]byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	var addr atomic.Pointer[net.UDPAddr]
	a := newICEAnswerCreds(stunLocal, stunRemote, true, &addr)
	f.Fuzz(func(t *testing.T, b []byte) {
		var sm stunMsg
		if !parseSTUN(b, &sm) || sm.typ != stunBindingReq {
			return
		}
		a.mu.Lock()
		reason := a.verify(b, &sm)
		a.mu.Unlock()
		if reason != "" {
			return
		}
		pm := &stun.Message{Raw: bytes.Clone(b)}
		if err := pm.Decode(); err != nil {
			t.Fatalf("verified, but pion does not decode it: %v", err)
		}
		var u stun.Username
		if err := u.GetFrom(pm); err != nil || u.String() != stunLocal.UsernameFragment+":"+stunRemote.UsernameFragment {
			t.Fatalf("verified, but pion reads username %q (%v)", u, err)
		}
		if pm.Type != stun.BindingRequest {
			t.Fatalf("verified, but pion reads type %v", pm.Type)
		}
		if err := stun.NewShortTermIntegrity(stunLocal.Password).Check(pm); err != nil {
			t.Fatalf("verified, but pion's integrity check: %v", err)
		}
		if err := stun.Fingerprint.Check(pm); err != nil {
			t.Fatalf("verified, but pion's fingerprint check: %v", err)
		}
		if pm.Contains(stun.AttrICEControlled) || !pm.Contains(stun.AttrICEControlling) {
			t.Fatal("verified, but pion would see a role conflict")
		}
		checkBuiltAnswer(t, a, b, netip.MustParseAddrPort("127.0.0.1:9"))
	})
}

// After an ICE restart the client's requests carry the new credentials,
// which the port does not hold: the first of them makes all the
// session's STUN pion's, so that a request under the old credentials
// (replayed, or late) is no longer answered by the port.
func TestPortLeavesSTUNToPionAfterRestart(t *testing.T) {
	r := newSTUNRoute(t, false)
	old := goodRequest(t)
	if got := r.sendThenRead(t, r.client, old); len(got) != 0 {
		t.Fatalf("pion read %d packets before the restart, want none", len(got))
	}
	r.answer(t)
	restart := metrics.ViewerSTUNToPion.WithLabelValues("restart")
	before := testutil.ToFloat64(restart)
	renewed := request(t, "new-password-of-the-restart", stun.NewUsername("newufrag:"+stunRemote.UsernameFragment), ice.AttrControlling(7))
	again := goodRequest(t)
	got := r.sendThenRead(t, r.client, renewed, again)
	if len(got) != 2 || !bytes.Equal(got[0], renewed) || !bytes.Equal(got[1], again) {
		t.Fatalf("pion read %d packets after the restart, want both requests", len(got))
	}
	if d := testutil.ToFloat64(restart) - before; d != 1 {
		t.Fatalf("counted %v as restart, want 1", d)
	}
	if n := r.in.ice.answered.Load(); n != 1 {
		t.Fatalf("%d answered, want only the one before the restart", n)
	}
}
