package sender

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/internal/udpbatch"
)

// directPair connects a viewer-side PeerConnection (mediad's interceptors,
// ICE on a UDP mux over conn, answering DTLS as role) to a pion client
// that receives video, and returns the viewer side, its track and send
// path, and the client's received packets.
func directPair(t *testing.T, conn *Port, role webrtc.DTLSRole, noGCC, cryptex bool, profiles ...dtls.SRTPProtectionProfile) (*webrtc.PeerConnection, *BoundTrack, *sendPath, <-chan *rtp.Packet) {
	t.Helper()
	return directPairWith(t, conn, role, noGCC, cryptex, nil, profiles...)
}

// directPairWith is directPair with tune, when not nil, given the
// viewer side's and the client's setting engines before they are used.
func directPairWith(t *testing.T, conn *Port, role webrtc.DTLSRole, noGCC, cryptex bool, tune func(viewer, client *webrtc.SettingEngine), profiles ...dtls.SRTPProtectionProfile) (*webrtc.PeerConnection, *BoundTrack, *sendPath, <-chan *rtp.Packet) {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	var meter *Meter
	if err := RegisterInterceptors(me, ir, InterceptorOptions{NoGCC: noGCC, InitialBitrate: 1e6, MinBitrate: 1e5, MaxBitrate: 1e7, OnMeter: func(m *Meter) { meter = m }}); err != nil {
		t.Fatal(err)
	}
	mux := webrtc.NewICEUDPMux(nil, conn)
	t.Cleanup(func() { _ = mux.Close() })
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(mux)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if err := se.SetAnsweringDTLSRole(role); err != nil {
		t.Fatal(err)
	}
	if len(profiles) > 0 {
		se.SetSRTPProtectionProfiles(profiles...)
	}
	cse := webrtc.SettingEngine{}
	cse.SetIncludeLoopbackCandidate(true)
	cse.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if tune != nil {
		tune(&se, &cse)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	spc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = spc.Close() })
	track, err := NewBoundTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}, "video", "direct")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spc.AddTrack(track); err != nil {
		t.Fatal(err)
	}

	policy := webrtc.RTPHeaderEncryptionPolicyDisable
	if cryptex {
		policy = webrtc.RTPHeaderEncryptionPolicyRequire // a packet without it is refused
	}
	cpc, err := webrtc.NewAPI(webrtc.WithSettingEngine(cse)).NewPeerConnection(webrtc.Configuration{RTPHeaderEncryptionPolicy: policy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cpc.Close() })
	if _, err := cpc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	got := make(chan *rtp.Packet, 256)
	cpc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			select {
			case got <- p:
			default:
			}
		}
	})
	connected := make(chan struct{})
	var once atomic.Bool
	spc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected && once.CompareAndSwap(false, true) {
			close(connected)
		}
	})
	offer, err := cpc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(cpc)
	if err := cpc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := spc.SetRemoteDescription(*cpc.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := spc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered = webrtc.GatheringCompletePromise(spc)
	if err := spc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := cpc.SetRemoteDescription(*spc.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(15 * time.Second):
		t.Fatal("never connected")
	}
	return spc, track, meter.s, got
}

// testPort is a Port on a loopback UDP socket, closed with the test;
// with batch, its writes go through a udpbatch.Conn as the server's do.
func testPort(t *testing.T, batch ...bool) *Port {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) > 0 && batch[0] {
		conn = udpbatch.New(conn, 16, time.Millisecond)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return NewPort(conn)
}

// sendUntilReceived writes numbered packets on track until the client
// has n of them, and checks each arrived as written.
func sendUntilReceived(t *testing.T, track *BoundTrack, got <-chan *rtp.Packet, n int) {
	t.Helper()
	b := track.b.Load()
	if b == nil {
		t.Fatal("track not bound")
	}
	h := rtp.Header{Version: 2, SSRC: b.ssrc, PayloadType: b.pt}
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	sent := map[uint16]uint32{}
	for received := 0; received < n; {
		select {
		case p := <-got:
			want, ok := sent[p.SequenceNumber]
			if !ok || len(p.Payload) != 400 || binary.BigEndian.Uint32(p.Payload) != want {
				t.Fatalf("packet %d arrived altered: %d bytes", p.SequenceNumber, len(p.Payload))
			}
			received++
		case <-tick.C:
			h.SequenceNumber++
			h.Timestamp += 3000
			pl := make([]byte, 400)
			binary.BigEndian.PutUint32(pl, uint32(h.SequenceNumber)*7)
			sent[h.SequenceNumber] = uint32(h.SequenceNumber) * 7
			if _, err := b.w.WriteRTP(&h, pl); err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatalf("client decrypted %d of %d packets", received, n)
		}
	}
}

// With the keys taken from DTLS, whichever DTLS role mediad has, with
// header extensions encrypted (cryptex) or not, and whichever SRTP
// profile (mediad's own SRTP for AES-GCM, written into batch slots or
// not; pion's for AES-CM), the client decrypts every packet the direct
// writer sends, none of them go through pion's SRTP session, and the
// client's SRTCP is decrypted off the port.
func TestDirectOutClientDecrypts(t *testing.T) {
	type variant struct {
		name    string
		profile dtls.SRTPProtectionProfile
		batch   bool
	}
	for _, v := range []variant{
		{"gcm128-batch", dtls.SRTP_AEAD_AES_128_GCM, true},
		{"gcm256", dtls.SRTP_AEAD_AES_256_GCM, false},
		{"cm-batch", dtls.SRTP_AES128_CM_HMAC_SHA1_80, true},
	} {
		for _, tc := range []struct {
			role    webrtc.DTLSRole
			cryptex bool
		}{{webrtc.DTLSRoleServer, false}, {webrtc.DTLSRoleClient, false}, {webrtc.DTLSRoleServer, true}, {webrtc.DTLSRoleClient, true}} {
			t.Run(fmt.Sprintf("%s-%s-cryptex-%v", v.name, tc.role, tc.cryptex), func(t *testing.T) {
				testDirectOutClientDecrypts(t, tc.role, tc.cryptex, v.profile, v.batch)
			})
		}
	}
}

func testDirectOutClientDecrypts(t *testing.T, role webrtc.DTLSRole, cryptex bool, profile dtls.SRTPProtectionProfile, batch bool) {
	conn := testPort(t, batch)
	spc, track, sp, got := directPair(t, conn, role, true, cryptex, profile)
	d, err := newDirectOut(spc, conn)
	if err != nil {
		t.Fatal(err)
	}
	gcm := profile != dtls.SRTP_AES128_CM_HMAC_SHA1_80
	if (d.seal != nil) != gcm || (d.batch != nil) != batch {
		t.Fatalf("sealer %v, batch %v: want %v and %v", d.seal != nil, d.batch != nil, gcm, batch)
	}
	if _, own := d.in.dec.(*rtcpOpener); own != gcm {
		t.Fatalf("own SRTCP decryption %v, want %v", own, gcm)
	}
	if err := sp.useDirect(d); err != nil {
		t.Fatal(err)
	}
	d.start(spc.SCTP().Transport().ICETransport(), sp)
	sendUntilReceived(t, track, got, 30)
	if n := d.sent.Load(); n < 30 {
		t.Fatalf("the direct writer wrote %d packets, want every one of at least 30", n)
	}
	// The client's reports (transport-wide feedback, receiver
	// reports) come to the send path from the port, decrypted.
	deadline := time.Now().Add(15 * time.Second)
	for d.in.taken.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no SRTCP from the client reached the send path")
		}
		sendUntilReceived(t, track, got, 1)
	}
	d.close()
	if _, err := d.write(&rtp.Header{Version: 2}, []byte{1}); err != errClosedPipe {
		t.Fatalf("write after close: %v, want %v", err, errClosedPipe)
	}
}

// A send path above the congestion controller keeps pion's writer: the
// controller must see every packet.
func TestDirectOutRefusedWithGCC(t *testing.T) {
	conn := testPort(t)
	spc, track, sp, got := directPair(t, conn, webrtc.DTLSRoleServer, false, false)
	d, err := newDirectOut(spc, conn)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.useDirect(d); err == nil {
		t.Fatal("direct writer taken below GCC")
	}
	sendUntilReceived(t, track, got, 5) // still sent, through pion
}

// A pair that does not run on the port given, or is relayed, is not sent
// to directly.
func TestPairAddr(t *testing.T) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := uint16(conn.LocalAddr().(*net.UDPAddr).Port)
	remote := &webrtc.ICECandidate{Protocol: webrtc.ICEProtocolUDP, Address: "192.0.2.7", Port: 5000, Typ: webrtc.ICECandidateTypeHost}
	for _, tc := range []struct {
		name  string
		local webrtc.ICECandidate
		ok    bool
	}{
		{"host on the port", webrtc.ICECandidate{Protocol: webrtc.ICEProtocolUDP, Port: port, Typ: webrtc.ICECandidateTypeHost}, true},
		{"srflx on the port", webrtc.ICECandidate{Protocol: webrtc.ICEProtocolUDP, Port: port, Typ: webrtc.ICECandidateTypeSrflx}, true},
		{"another port", webrtc.ICECandidate{Protocol: webrtc.ICEProtocolUDP, Port: port + 1, Typ: webrtc.ICECandidateTypeHost}, false},
		{"relay", webrtc.ICECandidate{Protocol: webrtc.ICEProtocolUDP, Port: port, Typ: webrtc.ICECandidateTypeRelay}, false},
		{"tcp", webrtc.ICECandidate{Protocol: webrtc.ICEProtocolTCP, Port: port, Typ: webrtc.ICECandidateTypeHost}, false},
	} {
		addr, err := pairAddr(&webrtc.ICECandidatePair{Local: &tc.local, Remote: remote}, conn)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
			continue
		}
		if tc.ok && addr.String() != "192.0.2.7:5000" {
			t.Errorf("%s: address %s", tc.name, addr)
		}
	}
}
