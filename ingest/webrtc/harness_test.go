package webrtc

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/transport/v5/vnet"
	pion "github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/stream"
)

// recorder is a fake pipeline: it records what the publication delivers.
type recorder struct {
	mu      sync.Mutex
	pubs    []*stream.Publication
	packets []*stream.Packet
}

type fakePipeline struct {
	stop chan struct{}
	done chan struct{}
}

func (f *fakePipeline) Close() error {
	close(f.stop)
	<-f.done
	return nil
}

func (r *recorder) start(pub *stream.Publication) (stream.Pipeline, error) {
	r.mu.Lock()
	r.pubs = append(r.pubs, pub)
	r.mu.Unlock()
	f := &fakePipeline{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for {
			select {
			case pkt := <-pub.Packets():
				r.mu.Lock()
				r.packets = append(r.packets, pkt)
				r.mu.Unlock()
			case <-pub.Done():
				return
			case <-f.stop:
				return
			}
		}
	}()
	return f, nil
}

func (r *recorder) snapshot() ([]*stream.Publication, []*stream.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*stream.Publication(nil), r.pubs...), append([]*stream.Packet(nil), r.packets...)
}

func (r *recorder) count(kind stream.Kind) int {
	_, pkts := r.snapshot()
	n := 0
	for _, p := range pkts {
		if p.Kind == kind {
			n++
		}
	}
	return n
}

// testLogger logs through t until the test ends, then drops: the hub's
// grace timer may log after that.
func testLogger(t *testing.T) *slog.Logger { return e2e.TestLogger(t) }

// settings returns a SettingEngine on the vnet when nw is set, else on
// loopback UDP.
func settings(nw *vnet.Net) pion.SettingEngine {
	se := pion.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	if nw != nil {
		se.SetNet(nw)
	} else {
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	}
	return se
}

// newReceiverPC builds the server side as signaling would.
func newReceiverPC(t *testing.T, nw *vnet.Net) *pion.PeerConnection {
	t.Helper()
	me := &pion.MediaEngine{}
	if err := RegisterCodecs(me); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := RegisterInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	api := pion.NewAPI(pion.WithMediaEngine(me), pion.WithInterceptorRegistry(ir), pion.WithSettingEngine(settings(nw)))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// publisher is a WHIP-like client: H.264 (RTP stamped with presentation
// time, so B-frames show) and Opus through TrackLocalStaticSample.
type publisher struct {
	pc          *pion.PeerConnection
	video       *pion.TrackLocalStaticRTP
	audio       *pion.TrackLocalStaticSample
	videoSender *pion.RTPSender
	plis        atomic.Int64
	videoSent   atomic.Int64
	audioSent   atomic.Int64
	stop        chan struct{}
	stopOnce    sync.Once
	wg          sync.WaitGroup
}

func newPublisher(t *testing.T, nw *vnet.Net) *publisher {
	t.Helper()
	me := &pion.MediaEngine{}
	if err := RegisterCodecs(me); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := pion.ConfigureNack(me, ir); err != nil {
		t.Fatal(err)
	}
	if err := pion.ConfigureRTCPReports(ir); err != nil {
		t.Fatal(err)
	}
	api := pion.NewAPI(pion.WithMediaEngine(me), pion.WithInterceptorRegistry(ir), pion.WithSettingEngine(settings(nw)))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &publisher{pc: pc, stop: make(chan struct{})}
	p.video, err = pion.NewTrackLocalStaticRTP(pion.RTPCodecCapability{
		MimeType: pion.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f",
	}, "video", "whip")
	if err != nil {
		t.Fatal(err)
	}
	p.audio, err = pion.NewTrackLocalStaticSample(pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "whip")
	if err != nil {
		t.Fatal(err)
	}
	if p.videoSender, err = pc.AddTrack(p.video); err != nil {
		t.Fatal(err)
	}
	audioSender, err := pc.AddTrack(p.audio)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*pion.RTPSender{p.videoSender, audioSender} {
		p.wg.Add(1)
		go p.readRTCP(s)
	}
	return p
}

func (p *publisher) readRTCP(s *pion.RTPSender) {
	defer p.wg.Done()
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pk := range pkts {
			if _, ok := pk.(*rtcp.PictureLossIndication); ok {
				p.plis.Add(1)
			}
		}
	}
}

// connect negotiates p with the receiver pc, installing the Publisher
// before the answer as signaling does.
func connect(t *testing.T, p *publisher, rpc *pion.PeerConnection, newPub func() *Publisher) *Publisher {
	t.Helper()
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := pion.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	pub := newPub()
	if err := rpc.SetRemoteDescription(*p.pc.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := rpc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered = pion.GatheringCompletePromise(rpc)
	if err := rpc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	connected := make(chan struct{})
	var once sync.Once
	p.pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		if s == pion.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	if err := p.pc.SetRemoteDescription(*rpc.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(30 * time.Second):
		t.Fatal("publisher never connected")
	}
	return pub
}

// sendMedia sends m in real time; with loop it starts over (timestamps
// going on) until stopped. reorder swaps every n-th pair of video packets.
func (p *publisher) sendMedia(m *testMedia, loop bool, reorderEvery int) {
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		p.sendVideo(m, loop, reorderEvery)
	}()
	go func() {
		defer p.wg.Done()
		p.sendAudio(m, loop)
	}()
}

func (p *publisher) sendVideo(m *testMedia, loop bool, reorderEvery int) {
	payloader := &codecs.H264Payloader{}
	var seq uint16 = 40000 // wraps during the test
	const base = uint32(4294000000)
	start := time.Now()
	period := time.Duration(len(m.aus)) * time.Second / 30
	count := 0
	for round := 0; ; round++ {
		shift := time.Duration(round) * period
		for _, au := range m.aus {
			if !sleepUntil(start.Add(shift+au.dts+70*time.Millisecond), p.stop) {
				return
			}
			var annexb []byte
			for _, n := range au.nalus {
				annexb = appendNALU(annexb, n)
			}
			ts := base + uint32((shift+au.pts).Seconds()*90000)
			payloads := payloader.Payload(1200, annexb)
			pkts := make([]*rtp.Packet, len(payloads))
			for i, pl := range payloads {
				pkts[i] = &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: i == len(payloads)-1}, Payload: pl}
				seq++
			}
			for i := range pkts {
				count++
				if reorderEvery > 0 && count%reorderEvery == 0 && i+1 < len(pkts) {
					pkts[i], pkts[i+1] = pkts[i+1], pkts[i]
				}
			}
			for _, pk := range pkts {
				if err := p.video.WriteRTP(pk); err != nil && err != io.ErrClosedPipe {
					return
				}
			}
			p.videoSent.Add(1)
		}
		if !loop {
			return
		}
	}
}

func (p *publisher) sendAudio(m *testMedia, loop bool) {
	start := time.Now()
	n := 0
	for {
		for _, pkt := range m.opus {
			if !sleepUntil(start.Add(time.Duration(n)*20*time.Millisecond), p.stop) {
				return
			}
			n++
			if err := p.audio.WriteSample(media.Sample{Data: pkt, Duration: 20 * time.Millisecond}); err != nil {
				return
			}
			p.audioSent.Add(1)
		}
		if !loop {
			return
		}
	}
}

func sleepUntil(t time.Time, stop <-chan struct{}) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-stop:
		return false
	}
}

// close stops sending and closes the publisher's PeerConnection.
func (p *publisher) close() {
	p.stopOnce.Do(func() { close(p.stop) })
	_ = p.pc.Close()
	p.wg.Wait()
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// naluTypes lists the NAL unit types of an Annex-B access unit, and fails
// on anything that is not a clean sequence of 4-byte start codes.
func splitAnnexB(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 5 || data[0] != 0 || data[1] != 0 || data[2] != 0 || data[3] != 1 {
			t.Fatalf("bad Annex-B at %x", data[:min(len(data), 8)])
		}
		data = data[4:]
		end := len(data)
		for i := 0; i+3 < len(data); i++ {
			if data[i] == 0 && data[i+1] == 0 && data[i+2] == 0 && data[i+3] == 1 {
				end = i
				break
			}
		}
		out = append(out, data[:end])
		data = data[end:]
	}
	return out
}
