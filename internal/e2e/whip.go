package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// WHIPClient is a Go WHIP publisher on pion, like OBS: it sends H.264 (any
// profile, B-frames included, with real presentation timestamps) and Opus
// read from an MPEG-TS file.
type WHIPClient struct {
	PC       *webrtc.PeerConnection
	Location string
	ETag     string
	Status   int
	base     string
	token    string

	video, audio *webrtc.TrackLocalStaticRTP
	PLIs         atomic.Int64
	Sent         atomic.Int64 // video access units sent
	// Posted is when the offer was sent.
	Posted time.Time
	conn   *cuttableConn

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// WHIPOptions shape the offer.
type WHIPOptions struct {
	// VideoFmtp is the H.264 fmtp line offered (default High, mode 1).
	VideoFmtp string
	// NoAudio leaves the audio track out.
	NoAudio bool
	// Setup, when set, replaces the offer's a=setup:actpass: "passive"
	// makes the server the DTLS client (FFmpeg's muxer offers that),
	// "active" makes it the DTLS server.
	Setup string
	// DropFirstDTLS drops the first DTLS handshake packet that reaches
	// the client, as FFmpeg's muxer drops mediad's first ClientHello when
	// it comes before its DTLS context exists.
	DropFirstDTLS bool
}

// DialWHIP posts an offer to url (http://host/whip/NAME) with the bearer
// token and returns the connected client, or an error carrying the status
// and the server's reason.
func DialWHIP(url, token string, opt WHIPOptions) (*WHIPClient, error) {
	if opt.VideoFmtp == "" {
		opt.VideoFmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f"
	}
	me := &webrtc.MediaEngine{}
	vcap := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: opt.VideoFmtp,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}
	acap := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: vcap, PayloadType: 102}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: acap, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	pc, cut, err := whipPeer(me, ir, opt.DropFirstDTLS)
	if err != nil {
		return nil, err
	}
	c := &WHIPClient{PC: pc, token: token, conn: cut, stop: make(chan struct{})}
	if i := strings.Index(url, "/whip/"); i >= 0 {
		c.base = url[:i]
	}
	fail := func(err error) (*WHIPClient, error) {
		c.Close()
		return nil, err
	}
	if c.video, err = webrtc.NewTrackLocalStaticRTP(vcap, "video", "whip"); err != nil {
		return fail(err)
	}
	vs, err := pc.AddTransceiverFromTrack(c.video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return fail(err)
	}
	c.wg.Add(1)
	go c.readRTCP(vs.Sender())
	if !opt.NoAudio {
		if c.audio, err = webrtc.NewTrackLocalStaticRTP(acap, "audio", "whip"); err != nil {
			return fail(err)
		}
		as, err := pc.AddTransceiverFromTrack(c.audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return fail(err)
		}
		c.wg.Add(1)
		go c.readRTCP(as.Sender())
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fail(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fail(err)
	}
	<-gathered
	sdp := pc.LocalDescription().SDP
	if opt.Setup != "" {
		sdp = strings.ReplaceAll(sdp, "a=setup:actpass", "a=setup:"+opt.Setup)
	}
	c.Posted = time.Now()
	resp, body, err := c.do(http.MethodPost, url, "application/sdp", sdp, nil)
	if err != nil {
		return fail(err)
	}
	c.Status = resp.StatusCode
	if resp.StatusCode != http.StatusCreated {
		return fail(fmt.Errorf("WHIP POST: %d %s", resp.StatusCode, strings.TrimSpace(body)))
	}
	c.Location, c.ETag = resp.Header.Get("Location"), resp.Header.Get("ETag")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		return fail(err)
	}
	return c, nil
}

func (c *WHIPClient) readRTCP(s *webrtc.RTPSender) {
	defer c.wg.Done()
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if _, ok := p.(*rtcp.PictureLossIndication); ok {
				c.PLIs.Add(1)
			}
		}
	}
}

// do sends one request with the bearer token.
func (c *WHIPClient) do(method, url, ctype, body string, hdr map[string]string) (*http.Response, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

// Patch sends a PATCH with an sdpfrag body to the session.
func (c *WHIPClient) Patch(frag, ifMatch string) (*http.Response, string, error) {
	hdr := map[string]string{}
	if ifMatch != "" {
		hdr["If-Match"] = ifMatch
	}
	return c.do(http.MethodPatch, c.base+c.Location, "application/trickle-ice-sdpfrag", frag, hdr)
}

// RestartICE restarts ICE through PATCH (RFC 9725 4.4) and applies the
// server's answer; media goes on over the new candidate pair.
func (c *WHIPClient) RestartICE() error {
	offer, err := c.PC.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return err
	}
	if err := c.PC.SetLocalDescription(offer); err != nil {
		return err
	}
	ufrag, pwd := iceCreds(offer.SDP)
	resp, body, err := c.Patch(fmt.Sprintf("a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", ufrag, pwd), c.ETag)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ICE restart PATCH: %d %s", resp.StatusCode, strings.TrimSpace(body))
	}
	c.ETag = resp.Header.Get("ETag")
	sufrag, spwd := iceCreds(body)
	answer := c.PC.RemoteDescription().SDP
	oldU, oldP := iceCreds(answer)
	answer = strings.ReplaceAll(strings.ReplaceAll(answer, "a=ice-ufrag:"+oldU, "a=ice-ufrag:"+sufrag), "a=ice-pwd:"+oldP, "a=ice-pwd:"+spwd)
	var cands []string
	for _, l := range strings.Split(body, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "a=candidate:") {
			cands = append(cands, l)
		}
	}
	if err := c.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return err
	}
	for _, cand := range cands {
		mid := "0"
		if err := c.PC.AddICECandidate(webrtc.ICECandidateInit{Candidate: strings.TrimPrefix(cand, "a="), SDPMid: &mid}); err != nil {
			return err
		}
	}
	return nil
}

func iceCreds(sdp string) (ufrag, pwd string) {
	for _, l := range strings.Split(sdp, "\n") {
		l = strings.TrimSpace(l)
		if v, ok := strings.CutPrefix(l, "a=ice-ufrag:"); ok && ufrag == "" {
			ufrag = v
		}
		if v, ok := strings.CutPrefix(l, "a=ice-pwd:"); ok && pwd == "" {
			pwd = v
		}
	}
	return ufrag, pwd
}

// Delete ends the session with DELETE and closes the client.
func (c *WHIPClient) Delete() (int, error) {
	defer c.Close()
	resp, _, err := c.do(http.MethodDelete, c.base+c.Location, "", "", nil)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// Vanish makes the publisher fall silent as if its network died.
func (c *WHIPClient) Vanish() { c.conn.cut.Store(true) }

// Close stops sending and closes the PeerConnection without a DELETE.
func (c *WHIPClient) Close() {
	c.stopOnce.Do(func() { close(c.stop) })
	_ = c.PC.Close()
	c.wg.Wait()
	_ = c.conn.Close()
}

// StreamFile sends the H.264 and Opus of an MPEG-TS file in real time, by
// presentation timestamp, looping when loop is set, until Close.
func (c *WHIPClient) StreamFile(path string, loop bool) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		vp := &rtpSender{track: c.video, payloader: &codecs.H264Payloader{}, clock: 90000}
		ap := &rtpSender{track: c.audio, payloader: &codecs.OpusPayloader{}, clock: 48000}
		start := time.Now()
		var offset time.Duration
		for {
			last, err := c.sendOnce(path, start, offset, vp, ap)
			if err != nil || !loop {
				return
			}
			offset = last + 40*time.Millisecond
		}
	}()
}

// sendOnce sends the file once; it returns the last timestamp sent.
func (c *WHIPClient) sendOnce(path string, start time.Time, offset time.Duration, vp, ap *rtpSender) (time.Duration, error) {
	fc := astiav.AllocFormatContext()
	if fc == nil {
		return 0, errors.New("alloc format context")
	}
	defer fc.Free()
	if err := fc.OpenInput(path, nil, nil); err != nil {
		return 0, err
	}
	defer fc.CloseInput()
	if err := fc.FindStreamInfo(nil); err != nil {
		return 0, err
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	var last time.Duration
	first := time.Duration(-1)
	for {
		select {
		case <-c.stop:
			return last, errors.New("stopped")
		default:
		}
		if err := fc.ReadFrame(pkt); err != nil {
			if errors.Is(err, astiav.ErrEof) {
				return last, nil
			}
			return last, err
		}
		st := fc.Streams()[pkt.StreamIndex()]
		tb := st.TimeBase()
		pts := time.Duration(float64(pkt.Pts()) * tb.Float64() * float64(time.Second))
		// Sending starts at once: a file's first timestamp (MPEG-TS
		// starts at 1.4s) is time zero.
		if first < 0 {
			first = pts
		}
		pts -= first
		if pts < 0 {
			pts = 0
		}
		pts += offset
		if pts > last {
			last = pts
		}
		data := append([]byte(nil), pkt.Data()...)
		kind := st.CodecParameters().MediaType()
		pkt.Unref()
		// Pace by decode order: a B-frame stream sends a frame ahead of
		// its presentation time, as an encoder does.
		if wait := time.Until(start.Add(pts - 100*time.Millisecond)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-c.stop:
				return last, errors.New("stopped")
			}
		}
		switch kind {
		case astiav.MediaTypeVideo:
			c.Sent.Add(1)
			_ = vp.send(data, pts)
		case astiav.MediaTypeAudio:
			if c.audio != nil {
				_ = ap.send(data, pts)
			}
		}
	}
}

// rtpSender packetizes with timestamps from presentation times.
type rtpSender struct {
	track     *webrtc.TrackLocalStaticRTP
	payloader rtp.Payloader
	clock     int64
	seq       uint16
}

func (s *rtpSender) send(data []byte, pts time.Duration) error {
	ts := uint32(int64(pts) * s.clock / int64(time.Second))
	pls := s.payloader.Payload(1200, data)
	for i, pl := range pls {
		s.seq++
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s.seq, Timestamp: ts, Marker: i == len(pls)-1}, Payload: pl}
		if err := s.track.WriteRTP(p); err != nil {
			return err
		}
	}
	return nil
}

// whipPeer is loopbackPeer, with a socket that drops the first DTLS
// handshake packet it receives when dropFirst is set.
func whipPeer(me *webrtc.MediaEngine, ir *interceptor.Registry, dropFirst bool) (*webrtc.PeerConnection, *cuttableConn, error) {
	if !dropFirst {
		return loopbackPeer(me, ir)
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	cut := &cuttableConn{PacketConn: &dropFirstDTLS{PacketConn: conn}}
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(webrtc.NewICEUDPMux(nil, cut))
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return pc, cut, nil
}

// dropFirstDTLS drops the first DTLS handshake record read (content type
// 22, RFC 9147 section 4).
type dropFirstDTLS struct {
	net.PacketConn
	dropped atomic.Bool
}

func (d *dropFirstDTLS) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := d.PacketConn.ReadFrom(b)
		if err == nil && n > 13 && b[0] == 22 && d.dropped.CompareAndSwap(false, true) {
			continue
		}
		return n, addr, err
	}
}
