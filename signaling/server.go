package signaling

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/stream"
)

// Server owns the WebRTC side: one pion API, one UDP port for every
// session's ICE traffic, and the live viewer sessions.
type Server struct {
	cfg  Config
	hub  *stream.Hub
	log  *slog.Logger
	api  *webrtc.API
	conn net.PacketConn
	mux  ice.UDPMux

	mu       sync.Mutex
	sessions map[string]*viewerSession
	closed   bool
	wg       sync.WaitGroup
}

// NewServer listens on the configured UDP port and builds the pion API.
func NewServer(cfg Config, hub *stream.Hub, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("webrtc config: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	conn, err := net.ListenPacket("udp", net.JoinHostPort(cfg.UDPAddr, strconv.Itoa(cfg.UDPPort)))
	if err != nil {
		return nil, fmt.Errorf("listen on WebRTC UDP port %d: %w (set webrtc.udp_port or --webrtc-udp)", cfg.UDPPort, err)
	}
	s := &Server{cfg: cfg, hub: hub, log: log.With("component", "whep"), conn: conn, sessions: map[string]*viewerSession{}}
	s.mux = webrtc.NewICEUDPMux(nil, conn)
	api, err := s.newAPI()
	if err != nil {
		_ = s.mux.Close()
		return nil, err
	}
	s.api = api
	return s, nil
}

func (s *Server) newAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	videoFB := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	for i, profile := range []string{"42e01f", "42001f"} {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType:     webrtc.MimeTypeH264,
				ClockRate:    90000,
				SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile,
				RTCPFeedback: videoFB,
			},
			PayloadType: webrtc.PayloadType(102 + 2*i),
		}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("register H.264: %w", err)
		}
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register Opus: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		return nil, fmt.Errorf("nack interceptor: %w", err)
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("rtcp report interceptor: %w", err)
	}
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(s.mux)
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetICETimeouts(s.cfg.DisconnectedTimeout, s.cfg.FailedTimeout, s.cfg.DisconnectedTimeout/3)
	if len(s.cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(s.cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// UDPAddr returns the address of the shared ICE port.
func (s *Server) UDPAddr() net.Addr { return s.conn.LocalAddr() }

// Sessions returns the number of live viewer sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

func (s *Server) iceServers() []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(s.cfg.ICEServers))
	for _, is := range s.cfg.ICEServers {
		out = append(out, webrtc.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	return out
}

func (s *Server) add(v *viewerSession) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return stream.ErrClosed
	}
	if s.cfg.MaxViewers > 0 && len(s.sessions) >= s.cfg.MaxViewers {
		return ErrTooManyViewers
	}
	s.sessions[v.id] = v
	s.wg.Add(1)
	return nil
}

func (s *Server) remove(v *viewerSession) {
	s.mu.Lock()
	if s.sessions[v.id] == v {
		delete(s.sessions, v.id)
	}
	s.mu.Unlock()
}

func (s *Server) session(id string) *viewerSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

// Close ends every session, waits for them and releases the UDP port.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	all := make([]*viewerSession, 0, len(s.sessions))
	for _, v := range s.sessions {
		all = append(all, v)
	}
	s.mu.Unlock()
	for _, v := range all {
		v.cancel()
	}
	s.wg.Wait()
	return s.mux.Close()
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
