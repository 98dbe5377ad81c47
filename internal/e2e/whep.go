package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/whepclient"
)

// WHEPClient is a Go WHEP viewer on pion: it counts what arrives.
type WHEPClient struct {
	PC       *webrtc.PeerConnection
	Location string
	base     string

	VideoPackets atomic.Int64
	AudioPackets atomic.Int64
	VideoBytes   atomic.Int64

	mu       sync.Mutex
	messages []map[string]any
	dc       *webrtc.DataChannel
	dcOpen   chan struct{}
	conn     *cuttableConn
}

// DialWHEP posts an offer to url (e.g. http://host/whep/NAME?rung=360p) and
// returns the connected client, or the HTTP status and body on refusal.
func DialWHEP(url string) (*WHEPClient, error) { return DialWHEPToken(url, "") }

// DialWHEPToken is DialWHEP with a bearer token on the offer.
func DialWHEPToken(url, token string) (*WHEPClient, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	pc, cut, err := loopbackPeer(me, nil)
	if err != nil {
		return nil, err
	}
	c := &WHEPClient{PC: pc, dcOpen: make(chan struct{}), conn: cut}
	if i := strings.Index(url, "/whep/"); i >= 0 {
		c.base = url[:i]
	}
	if err := whepclient.Prepare(pc, whepclient.Options{Audio: true}); err != nil {
		_ = pc.Close()
		return nil, err
	}
	dc, err := pc.CreateDataChannel("control", nil)
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	c.dc = dc
	dc.OnOpen(func() { close(c.dcOpen) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		var v map[string]any
		if json.Unmarshal(m.Data, &v) == nil {
			c.mu.Lock()
			c.messages = append(c.messages, v)
			c.mu.Unlock()
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				c.VideoPackets.Add(1)
				c.VideoBytes.Add(int64(len(p.Payload)))
			} else {
				c.AudioPackets.Add(1)
			}
		}
	})
	sess, err := whepclient.Offer(context.Background(), url, pc, whepclient.Options{Token: token})
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	c.Location = sess.Location
	if u, err := neturl.Parse(sess.Location); err == nil {
		c.Location = u.Path // the path, as the server wrote it
	}
	return c, nil
}

// Send sends a control message once the data channel is open.
func (c *WHEPClient) Send(msg any) error {
	select {
	case <-c.dcOpen:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("control data channel did not open")
	}
	b, _ := json.Marshal(msg)
	return c.dc.SendText(string(b))
}

// Messages returns the control messages received so far.
func (c *WHEPClient) Messages() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]any(nil), c.messages...)
}

// Delete ends the session with DELETE and closes the PeerConnection.
func (c *WHEPClient) Delete() (int, error) {
	defer c.Close()
	req, _ := http.NewRequest(http.MethodDelete, c.base+c.Location, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Close closes the PeerConnection (DTLS close, no DELETE) and its socket.
func (c *WHEPClient) Close() {
	_ = c.PC.Close()
	_ = c.conn.Close()
}

// Vanish makes the client fall silent as if its network died: nothing more
// is sent or received, and no DELETE or DTLS close reaches the server.
func (c *WHEPClient) Vanish() { c.conn.cut.Store(true) }

// cuttableConn is a UDP socket that can be cut off.
type cuttableConn struct {
	net.PacketConn
	cut atomic.Bool
}

func (c *cuttableConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.cut.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

func (c *cuttableConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.cut.Load() {
			return n, addr, err
		}
	}
}

// loopbackPeer makes a client PeerConnection whose ICE runs on one UDP
// socket on 127.0.0.1 that the test can cut (Vanish). ir may be nil.
func loopbackPeer(me *webrtc.MediaEngine, ir *interceptor.Registry) (*webrtc.PeerConnection, *cuttableConn, error) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	cut := &cuttableConn{PacketConn: conn}
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(webrtc.NewICEUDPMux(nil, cut))
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	opts := []func(*webrtc.API){webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)}
	if ir != nil {
		opts = append(opts, webrtc.WithInterceptorRegistry(ir))
	}
	pc, err := webrtc.NewAPI(opts...).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return pc, cut, nil
}
