package fanout

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// NewAPI returns the pion API every viewer shares: default codecs and
// pion's default interceptors (NACK generator, RTCP receiver reports,
// TWCC feedback), as a browser would send them, ICE on loopback UDP only.
func NewAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	// pion's interceptors log an error for every packet written while a
	// viewer closes; the tool reports refusals and counts itself.
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(me, ir, webrtc.WithInterceptorLoggerFactory(lf)); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.LoggerFactory = lf
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// Viewer is one recvonly WHEP session that counts what it reads.
type Viewer struct {
	pc       *webrtc.PeerConnection
	location string
	client   *http.Client

	mu     sync.Mutex // guards closed against wg.Add
	closed bool
	wg     sync.WaitGroup

	packets atomic.Int64
	bytes   atomic.Int64
	padded  atomic.Int64
}

// Count returns what the viewer has read so far.
func (v *Viewer) Count() ViewerCount {
	return ViewerCount{Packets: v.packets.Load(), Bytes: v.bytes.Load(), Padded: v.padded.Load()}
}

// DialViewer posts a recvonly video+audio offer to whepURL and returns
// the viewer once the answer is set; media flows once ICE and DTLS finish.
func DialViewer(ctx context.Context, api *webrtc.API, client *http.Client, whepURL string) (*Viewer, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	v := &Viewer{pc: pc, client: client}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			_ = pc.Close()
			return nil, err
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.closed {
			return
		}
		v.wg.Add(2)
		go v.readRTP(tr)
		go v.readRTCP(rx)
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		_ = pc.Close()
		return nil, err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		_ = pc.Close()
		return nil, ctx.Err()
	}
	answer, loc, err := v.post(ctx, whepURL, pc.LocalDescription().SDP)
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	v.location = loc
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

func (v *Viewer) post(ctx context.Context, whepURL, offer string) (answer, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, whepURL, strings.NewReader(offer))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := v.client.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return "", "", fmt.Errorf("WHEP POST %s: %d %s", whepURL, resp.StatusCode, bytes.TrimSpace(body))
	}
	if l := resp.Header.Get("Location"); l != "" {
		if base, err := url.Parse(whepURL); err == nil {
			if u, err := base.Parse(l); err == nil {
				location = u.String()
			}
		}
	}
	return string(body), location, nil
}

// readRTP reads the track into one reused buffer and counts packets, bytes
// and padded packets (the P bit of the first byte), nothing more.
func (v *Viewer) readRTP(tr *webrtc.TrackRemote) {
	defer v.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		v.packets.Add(1)
		v.bytes.Add(int64(n))
		if n > 0 && buf[0]&0x20 != 0 {
			v.padded.Add(1)
		}
	}
}

// readRTCP reads the sender's RTCP (sender reports) so that the receiver
// report interceptor sees them, as a browser does.
func (v *Viewer) readRTCP(rx *webrtc.RTPReceiver) {
	defer v.wg.Done()
	buf := make([]byte, 1500)
	for {
		if _, _, err := rx.Read(buf); err != nil {
			return
		}
	}
}

// Close ends the session (DELETE on its resource, best effort) and the
// PeerConnection, and waits for the read loops.
func (v *Viewer) Close() {
	if v.location != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, v.location, nil)
		if err == nil {
			if resp, err := v.client.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		cancel()
	}
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	_ = v.pc.Close()
	v.wg.Wait()
}
