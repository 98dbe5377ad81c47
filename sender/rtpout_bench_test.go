package sender

import (
	"bytes"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/stream"
)

// sendPair is a viewer PeerConnection built by the server's API (its
// interceptors, its UDP port on loopback) connected to a plain pion
// receiver, with the viewer's video track.
type sendPair struct {
	pc    *webrtc.PeerConnection
	rx    *webrtc.PeerConnection
	video *BoundTrack
	deaf  *deafConn
}

// deafConn is a UDP socket that, once deaf, reads nothing more (what comes
// is dropped by the kernel once the socket's buffer is full): the receiver
// then costs nothing while the sender goes on.
type deafConn struct {
	net.PacketConn
	deaf      atomic.Bool
	closed    chan struct{}
	closeOnce sync.Once
}

func (c *deafConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, a, err := c.PacketConn.ReadFrom(b)
	if err == nil && c.deaf.Load() {
		<-c.closed
		return 0, nil, net.ErrClosed
	}
	return n, a, err
}

func (c *deafConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.PacketConn.Close()
}

// loopbackAPI is a pion API on its own UDP port on 127.0.0.1; me and ir
// may be nil for pion's defaults.
func loopbackAPI(tb testing.TB, me *webrtc.MediaEngine, ir *interceptor.Registry) (*webrtc.API, *deafConn) {
	tb.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	c := &deafConn{PacketConn: conn, closed: make(chan struct{})}
	mux := webrtc.NewICEUDPMux(nil, c)
	tb.Cleanup(func() { _ = mux.Close() })
	if me == nil {
		me = &webrtc.MediaEngine{}
		if err := me.RegisterDefaultCodecs(); err != nil {
			tb.Fatal(err)
		}
	}
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(mux)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	opts := []func(*webrtc.API){webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)}
	if ir != nil {
		opts = append(opts, webrtc.WithInterceptorRegistry(ir))
	}
	return webrtc.NewAPI(opts...), c
}

// newSendPair connects a viewer PeerConnection with the viewer
// interceptors (RegisterInterceptors) to a plain pion receiver, both on
// loopback, with the viewer's video track bound.
func newSendPair(tb testing.TB, mime string) *sendPair {
	tb.Helper()
	me := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: webrtc.TypeRTCPFBTransportCC}}
	vc := webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
			RTCPFeedback: fb},
		PayloadType: 102,
	}
	if mime == webrtc.MimeTypeVP8 {
		vc = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000, RTCPFeedback: fb}, PayloadType: 96}
	}
	if err := me.RegisterCodec(vc, webrtc.RTPCodecTypeVideo); err != nil {
		tb.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := RegisterInterceptors(me, ir, InterceptorOptions{Resend: DefaultConfig().Resend, InitialBitrate: 1_000_000, MinBitrate: 30_000, MaxBitrate: 20_000_000, NoGCC: os.Getenv("BENCH_GCC") == ""}); err != nil {
		tb.Fatal(err)
	}
	api, _ := loopbackAPI(tb, me, ir)
	p := &sendPair{}
	var err error
	if p.pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.pc.Close() })
	rxAPI, deaf := loopbackAPI(tb, nil, nil)
	p.deaf = deaf
	p.rx, err = rxAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.rx.Close() })
	if _, err := p.rx.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		tb.Fatal(err)
	}
	p.video, err = NewBoundTrack(webrtc.RTPCodecCapability{MimeType: vc.MimeType, ClockRate: 90000}, "video", "bench")
	if err != nil {
		tb.Fatal(err)
	}
	offer, err := p.rx.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(p.rx)
	if err := p.rx.SetLocalDescription(offer); err != nil {
		tb.Fatal(err)
	}
	<-gathered
	if err := p.pc.SetRemoteDescription(*p.rx.LocalDescription()); err != nil {
		tb.Fatal(err)
	}
	sender, err := p.pc.AddTrack(p.video)
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		for {
			if _, _, err := sender.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	connected := make(chan struct{})
	p.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	gathered = webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(answer); err != nil {
		tb.Fatal(err)
	}
	<-gathered
	if err := p.rx.SetRemoteDescription(*p.pc.LocalDescription()); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		tb.Fatal("viewer PeerConnection never connected")
	}
	for deadline := time.Now().Add(10 * time.Second); p.video.b.Load() == nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatal("video track never bound")
		}
	}
	return p
}

// accessUnit is an Annex-B IDR-less access unit of n bytes: one slice NAL.
func accessUnit(n int) []byte {
	b := append([]byte{0, 0, 0, 1, 0x41}, bytes.Repeat([]byte{0x5a}, n-5)...)
	return b
}

// BenchmarkViewerWrite is one viewer's cost to send a 4-packet access unit
// that was cut once for all viewers: header rewrite, the interceptors, SRTP
// and the socket. The receiver stops reading once connected, so that only
// the sender's allocations count. With the default interceptors (no GCC)
// steady state is 0 allocs/op; BENCH_GCC=1 adds pion's GCC, whose feedback
// history makes two allocations a packet.
func BenchmarkViewerWrite(b *testing.B) {
	p := newSendPair(b, webrtc.MimeTypeH264)
	p.deaf.deaf.Store(true)
	out := newRTPOut(p.video, cutH264, 90000, 3000)
	pkt := &stream.Packet{Kind: stream.KindVideo, Data: accessUnit(4000)}
	pkt.Payloads(cutH264)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pkt.PTS = time.Duration(i) * 33 * time.Millisecond
		if n, err := out.write(pkt, true); err != nil || n != 4 {
			b.Fatalf("wrote %d packets: %v", n, err)
		}
	}
}

// BenchmarkViewerWriteVP8 is BenchmarkViewerWrite for a 4-packet VP8
// frame: the payloads cut once for all viewers, and per viewer the header
// and the picture ID and TL0PICIDX written on the way out (sendpath.go).
// Steady state is 0 allocs/op with the default interceptors.
func BenchmarkViewerWriteVP8(b *testing.B) {
	p := newSendPair(b, webrtc.MimeTypeVP8)
	p.deaf.deaf.Store(true)
	out := newRTPOut(p.video, cutVP8, 90000, 3000)
	pkt := &stream.Packet{Kind: stream.KindVideo, Data: bytes.Repeat([]byte{0x5a}, 4000)}
	pkt.Payloads(cutVP8)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pkt.PTS = time.Duration(i) * 33 * time.Millisecond
		if n, err := out.write(pkt, true); err != nil || n != 4 {
			b.Fatalf("wrote %d packets: %v", n, err)
		}
	}
}
