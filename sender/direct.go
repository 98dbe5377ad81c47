package sender

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/internal/udpbatch"
	"github.com/mutstream/mutstream/metrics"
)

// directOut sends a viewer PeerConnection's RTP itself, once DTLS has
// given the keys: the send path hands it each packet, it marshals and
// encrypts the packet in place and sends it from the server's UDP port
// to the selected candidate pair's remote address. With an AES-GCM
// profile (what browsers and pion choose) mediad's own SRTP (srtp_rtp.go)
// builds and encrypts the packet in the batch slot that sendmmsg sends
// it from (udpbatch.Conn.Reserve), with no copy; with AES-CM, pion's SRTP
// context encrypts it in one buffer, which the port's batch copies.
// pion's own path for the same packet runs
// through the SRTP session, its buffer pool and locks, the mux endpoint,
// the ICE connection, the candidate pair and the UDP mux: about a fifth of
// a viewer's CPU at 200 viewers, for what is one encryption and one write.
//
// The RTCP mediad sends (sender reports) stays with pion's SRTCP session;
// the viewer's SRTCP is read off the port (Port, with the directIn).
// Every RTP packet of the PeerConnection goes through the context once it
// is in use, so that no two contexts ever encrypt under the same keys.
type directOut struct {
	conn *Port
	in   *directIn // the viewer's SRTCP, routed to it by conn
	addr atomic.Pointer[net.UDPAddr]
	// closed is set when the viewer's loop ends or its pair leaves the
	// port: writes fail as pion's do once the connection is closed.
	closed atomic.Bool
	sent   atomic.Uint64 // packets written

	mu sync.Mutex
	// seal encrypts with an AEAD profile: each packet is built and
	// encrypted in the batch slot it is sent from (batch), or in buf
	// when the port does not batch or the packet is too large for a
	// slot. Else ctx, pion's, encrypts (AES_CM_128_HMAC_SHA1_80).
	seal  *rtpSealer
	batch *udpbatch.Conn
	ctx   *srtp.Context
	buf   []byte     // the packet, marshaled then encrypted in place
	hdr   rtp.Header // ctx parses the header into it
	// one is the packet write seals.
	one sealedRTP

	// unitMu is writeUnit's (sendunit.go), taken before mu: unit, sizes
	// and slots are the packets of the access unit it seals, which it
	// commits once mu is released.
	unitMu sync.Mutex
	unit   []sealedRTP
	sizes  []int
	slots  udpbatch.Slots
}

// notDirect says why a connection's RTP goes through pion: reason is one
// of a few fixed words (a metric's label), detail says more in the log.
type notDirect struct{ reason, detail string }

func errNotDirect(reason string) error { return &notDirect{reason: reason} }

func (e *notDirect) Error() string {
	if e.detail != "" {
		return "rtp through pion: " + e.reason + ": " + e.detail
	}
	return "rtp through pion: " + e.reason
}

// directBuf holds the largest packet written: an MTU's worth and room for
// the authentication tag and an MKI.
const directBuf = 1600

// newDirectOut makes pc's direct writer on conn, the UDP port its ICE
// runs on. It fails, with the reason, when the selected pair does not go
// through conn (a relay, TCP, another port) or when DTLS has no SRTP keys
// to give.
func newDirectOut(pc *webrtc.PeerConnection, conn *Port) (*directOut, error) {
	dt := pc.SCTP().Transport()
	if dt == nil {
		return nil, errNotDirect("no DTLS transport")
	}
	local, remote := pc.CurrentLocalDescription(), pc.CurrentRemoteDescription()
	if local == nil || remote == nil {
		return nil, errNotDirect("no description")
	}
	// mediad answers every viewer's offer: its answer's setup attribute
	// says which DTLS side it is (active: the client).
	isClient := strings.Contains(local.SDP, "a=setup:active")
	// What is sent encrypts its header extensions (RFC 9335) when the
	// peer said it receives them so, as pion decides.
	cryptex := strings.Contains(remote.SDP, "a=cryptex")
	addr, err := directAddr(dt.ICETransport(), conn)
	if err != nil {
		return nil, err
	}
	d := &directOut{conn: conn, buf: make([]byte, directBuf)}
	d.in = &directIn{buf: make([]byte, directBuf)}
	if err := d.keys(dt, isClient, cryptex); err != nil {
		return nil, err
	}
	d.batch, _ = conn.PacketConn.(*udpbatch.Conn)
	d.addr.Store(addr)
	// Without the session's credentials, its STUN stays with pion.
	d.in.ice, _ = newICEAnswer(dt.ICETransport(), &d.addr)
	return d, nil
}

// directAddr is the remote address of the selected candidate pair, when
// the pair's local side is conn's port.
func directAddr(it *webrtc.ICETransport, conn net.PacketConn) (*net.UDPAddr, error) {
	pair, err := it.GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return nil, errNotDirect("no selected candidate pair")
	}
	return pairAddr(pair, conn)
}

func pairAddr(pair *webrtc.ICECandidatePair, conn net.PacketConn) (*net.UDPAddr, error) {
	if pair.Local == nil || pair.Remote == nil || pair.Local.Protocol != webrtc.ICEProtocolUDP {
		return nil, errNotDirect("not a UDP pair")
	}
	if pair.Local.Typ == webrtc.ICECandidateTypeRelay {
		return nil, errNotDirect("relayed")
	}
	la, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok || int(pair.Local.Port) != la.Port {
		return nil, errNotDirect("another local port")
	}
	ip := net.ParseIP(pair.Remote.Address)
	if ip == nil {
		return nil, &notDirect{"remote address", strconv.Quote(pair.Remote.Address)}
	}
	if ip4 := ip.To4(); ip4 != nil {
		ip = ip4
	}
	return &net.UDPAddr{IP: ip, Port: int(pair.Remote.Port)}, nil
}

// keys sets up d's encryption of what this side sends and d.in's
// decryption of what it receives, from the keys of dt's DTLS connection:
// mediad's own SRTP for the AEAD profiles, pion's SRTP contexts for
// AES_CM_128_HMAC_SHA1_80.
func (d *directOut) keys(dt *webrtc.DTLSTransport, isClient, cryptex bool) error {
	profile, keys, err := directKeys(dt, isClient)
	if err != nil {
		return err
	}
	if profile == srtp.ProtectionProfileAeadAes128Gcm || profile == srtp.ProtectionProfileAeadAes256Gcm {
		if d.seal, err = newRTPSealer(keys.LocalMasterKey, keys.LocalMasterSalt, cryptex); err != nil {
			return fmt.Errorf("srtp: %w", err)
		}
		open, err := newRTCPOpener(keys.RemoteMasterKey, keys.RemoteMasterSalt)
		if err != nil {
			return fmt.Errorf("srtcp: %w", err)
		}
		d.in.dec = open
		return nil
	}
	var opts []srtp.ContextOption
	if cryptex {
		opts = append(opts, srtp.Cryptex(srtp.CryptexModeEnabled))
	}
	if d.ctx, err = srtp.CreateContext(keys.LocalMasterKey, keys.LocalMasterSalt, profile, opts...); err != nil {
		return fmt.Errorf("srtp context: %w", err)
	}
	// SRTCP that mediad takes off the port never reaches pion's session:
	// it gets the same replay window (a replayed NACK is not answered
	// twice).
	rctx, err := srtp.CreateContext(keys.RemoteMasterKey, keys.RemoteMasterSalt, profile, srtp.SRTCPReplayProtection(srtcpWindow))
	if err != nil {
		return fmt.Errorf("srtcp context: %w", err)
	}
	d.in.dec = pionRTCP{rctx}
	return nil
}

// pionRTCP decrypts SRTCP with pion's context.
type pionRTCP struct{ ctx *srtp.Context }

func (p pionRTCP) decryptRTCP(dst, pkt []byte) ([]byte, error) {
	return p.ctx.DecryptRTCP(dst, pkt, nil)
}

// directKeys returns the SRTP profile and keys of dt's DTLS connection.
// pion keeps that connection to itself: it is read from the transport's
// field, and its absence (another pion release) only means the packets
// go through pion.
func directKeys(dt *webrtc.DTLSTransport, isClient bool) (srtp.ProtectionProfile, srtp.SessionKeys, error) {
	var none srtp.SessionKeys
	f := reflect.ValueOf(dt).Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*dtls.Conn]() {
		return 0, none, errNotDirect("DTLS connection not found")
	}
	conn, _ := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(*dtls.Conn)
	if conn == nil {
		return 0, none, errNotDirect("DTLS not connected")
	}
	var profile srtp.ProtectionProfile
	p, ok := conn.SelectedSRTPProtectionProfile()
	switch {
	case !ok:
		return 0, none, errNotDirect("no SRTP profile")
	case p == dtls.SRTP_AEAD_AES_128_GCM:
		profile = srtp.ProtectionProfileAeadAes128Gcm
	case p == dtls.SRTP_AEAD_AES_256_GCM:
		profile = srtp.ProtectionProfileAeadAes256Gcm
	case p == dtls.SRTP_AES128_CM_HMAC_SHA1_80:
		profile = srtp.ProtectionProfileAes128CmHmacSha1_80
	default:
		return 0, none, &notDirect{"srtp profile", fmt.Sprintf("%#04x", uint16(p))}
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return 0, none, errNotDirect("no DTLS state")
	}
	cfg := srtp.Config{Profile: profile}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, isClient); err != nil {
		return 0, none, fmt.Errorf("srtp keys: %w", err)
	}
	return profile, cfg.Keys, nil
}

// start routes the viewer's SRTCP to sp and keeps the remote address on
// the selected pair as ICE changes it. A pair that leaves conn's port (a
// relay, TCP) ends the writes, and the viewer's loop ends on the error as
// for a closed connection: its packets cannot go back to pion's SRTP
// session, whose context would encrypt again under the same keys from a
// rollover count of its own.
func (d *directOut) start(it *webrtc.ICETransport, sp *sendPath) {
	d.in.sp = sp
	move := func(pair *webrtc.ICECandidatePair) {
		addr, err := pairAddr(pair, d.conn)
		if err != nil {
			metrics.ViewerSendPaths.WithLabelValues("closed", "pair left the port").Inc()
			d.close()
			return
		}
		d.addr.Store(addr)
		d.conn.reroute(d, addr)
	}
	it.OnSelectedCandidatePairChange(move)
	// A pair selected before the handler was set is read here.
	if pair, err := it.GetSelectedCandidatePair(); err == nil && pair != nil {
		move(pair)
	}
}

// close ends the writes and the routing of the viewer's SRTCP.
func (d *directOut) close() {
	d.conn.unroute(d)
}

// write marshals h and payload, encrypts them and sends them.
func (d *directOut) write(h *rtp.Header, payload []byte) (int, error) {
	if d.closed.Load() {
		return 0, errClosedPipe
	}
	d.mu.Lock()
	if d.seal != nil {
		return d.writeSealed(h, payload)
	}
	slot, err := d.writeCM(h, payload)
	d.mu.Unlock()
	if err != nil {
		return 0, err
	}
	// The slot is committed with d.mu released: the commit that
	// completes a batch sends it.
	d.batch.Commit(slot)
	d.sent.Add(1)
	return len(payload), nil
}

// writeCM marshals h and payload and encrypts them with pion's context:
// into a batch slot it returns, to commit, or written at once when the
// port does not batch or the packet is too large for a slot. d.mu is
// held.
func (d *directOut) writeCM(h *rtp.Header, payload []byte) (udpbatch.Slot, error) {
	_, size := rtp.HeaderAndPacketMarshalSize(h, payload) //nolint:staticcheck // the padding-aware size, as pion's SRTP session takes it
	if size+32 > len(d.buf) {
		d.buf = make([]byte, size+32)
	}
	if _, err := rtp.MarshalPacketTo(d.buf, h, payload); err != nil { //nolint:staticcheck // writes Header.PaddingSize's padding
		return udpbatch.Slot{}, err
	}
	out, err := d.ctx.EncryptRTP(d.buf, d.buf[:size], &d.hdr)
	if err != nil {
		return udpbatch.Slot{}, err
	}
	addr := d.addr.Load()
	if d.batch == nil || len(out) > udpbatch.MaxPacket {
		_, err := d.conn.WriteTo(out, addr)
		return udpbatch.Slot{}, directWriteErr(err)
	}
	slot, err := d.batch.Reserve(addr, len(out))
	if err != nil {
		return udpbatch.Slot{}, directWriteErr(err)
	}
	copy(slot.B, out)
	return slot, nil
}

// writeSealed sends h and payload with mediad's own SRTP: built and
// encrypted in the batch slot they go out from, or in d.buf and written
// when there is no slot for them. d.mu is held; writeSealed unlocks it,
// before the slot's Commit, which may send the batch.
func (d *directOut) writeSealed(h *rtp.Header, payload []byte) (int, error) {
	p := &d.one
	if err := d.seal.prepare(p, h, payload); err != nil {
		p.payload = nil // the rung's: let it go
		d.mu.Unlock()
		return 0, err
	}
	addr := d.addr.Load()
	if d.batch != nil && p.size <= udpbatch.MaxPacket {
		slot, err := d.batch.Reserve(addr, p.size)
		if err != nil {
			d.mu.Unlock()
			return 0, directWriteErr(err)
		}
		d.seal.seal(slot.B, p)
		p.payload = nil
		d.mu.Unlock()
		d.batch.Commit(slot)
	} else {
		err := d.sealAlone(p, addr)
		d.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	d.sent.Add(1)
	return len(payload), nil
}

// sealAlone seals p, a packet prepared, in d.buf and writes it to addr at
// once. d.mu is held.
func (d *directOut) sealAlone(p *sealedRTP, addr net.Addr) error {
	if p.size > len(d.buf) {
		d.buf = make([]byte, p.size)
	}
	d.seal.seal(d.buf[:p.size], p)
	p.payload = nil
	if _, err := d.conn.WriteTo(d.buf[:p.size], addr); err != nil {
		return directWriteErr(err)
	}
	return nil
}

// directWriteErr is what write returns for a port's write error err.
func directWriteErr(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return errClosedPipe
	}
	return err
}

// Heard counts the viewer's RTCP packets that mediad took off the port,
// authenticated, and its STUN Binding Requests that the port answered,
// verified: signs of life that pion's candidate pair never sees. It
// stays 0 for a viewer whose RTCP goes through pion. Safe from any
// goroutine.
func (v *Viewer) Heard() uint64 {
	in := v.heardIn.Load()
	if in == nil {
		return 0
	}
	n := in.taken.Load()
	if in.ice != nil {
		n += in.ice.answered.Load()
	}
	return n
}

// startDirect moves the viewer's RTP to a direct writer when its options
// allow one, and counts which path it took.
func (v *Viewer) startDirect() {
	if v.directConn == nil || v.pc == nil || v.sendPath == nil {
		metrics.ViewerSendPaths.WithLabelValues("pion", "off").Inc()
		return
	}
	d, err := newDirectOut(v.pc, v.directConn)
	if err == nil {
		err = v.sendPath.useDirect(d)
	}
	if err != nil {
		reason := "error"
		var nd *notDirect
		if errors.As(err, &nd) {
			reason = nd.reason
		}
		metrics.ViewerSendPaths.WithLabelValues("pion", reason).Inc()
		v.log.Debug("rtp through pion", "err", err)
		return
	}
	v.direct = d
	v.heardIn.Store(d.in)
	d.start(v.pc.SCTP().Transport().ICETransport(), v.sendPath)
	metrics.ViewerSendPaths.WithLabelValues("direct", "").Inc()
}
