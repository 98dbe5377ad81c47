package signaling

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	ingest "github.com/mutstream/mutstream/ingest/webrtc"
	"github.com/mutstream/mutstream/internal/udpbatch"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/sender"
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
	// out is what the mux reads and writes (conn, or its write batcher,
	// with the SRTCP of viewers that send directly taken off): those
	// viewers write there too.
	out *sender.Port
	// nw, when set, is the network every PeerConnection runs on instead
	// of the shared UDP port (conn and mux are nil then): tests put
	// sessions on pion's virtual network.
	nw transport.Net

	publishAPI   *webrtc.API
	ccMu         sync.Mutex            // serialises viewer PeerConnection creation
	newEstimator cc.BandwidthEstimator // handed over by the cc interceptor under ccMu
	newMeter     *sender.Meter         // handed over by the link meter under ccMu
	publishAuth  authFunc
	limit        *limiter
	// beforeOfferFn, when set, readies a WHEP offer's stream (SetBeforeOffer).
	beforeOfferFn OfferHook

	mu       sync.Mutex
	sessions map[string]session // complete sessions only: the API reads them
	reserved map[string]int     // places held, by kind, by sessions being built
	closed   bool
	wg       sync.WaitGroup
	consent  consentClock // every session's consent, polled together
}

// NewServer listens on the configured UDP port and builds the pion API.
func NewServer(cfg Config, hub *stream.Hub, log *slog.Logger) (*Server, error) {
	return newServer(cfg, hub, log, nil)
}

// newServer is NewServer, or, when nw is not nil, a server whose
// PeerConnections run on nw (pion's vnet in tests) with no UDP port of
// its own.
func newServer(cfg Config, hub *stream.Hub, log *slog.Logger, nw transport.Net) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("webrtc config: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, hub: hub, log: log.With("component", "whep"), nw: nw, sessions: map[string]session{}, reserved: map[string]int{}, limit: newLimiter(cfg.RateLimit)}
	if nw == nil {
		listen := net.ListenPacket
		if cfg.WriteBatch.Size > 0 {
			listen = udpbatch.Listen // the batches go out through its quiet twin
		}
		conn, err := listen("udp", net.JoinHostPort(cfg.UDPAddr, strconv.Itoa(cfg.UDPPort)))
		if err != nil {
			return nil, fmt.Errorf("listen on WebRTC UDP port %d: %w (set webrtc.udp_port or --webrtc-udp)", cfg.UDPPort, err)
		}
		s.conn = conn
		var mc net.PacketConn = conn
		if b := cfg.WriteBatch; b.Size > 0 {
			bc := udpbatch.New(conn, b.Size, b.Interval, udpbatch.WithGSO(b.GSO), udpbatch.WithOnGSOOff(func(reason string, err error) {
				metrics.UDPGSODisabled.WithLabelValues(reason).Inc()
				if err == nil {
					s.log.Info("no UDP GSO here: the WebRTC port sends one packet per message", "reason", reason)
					return
				}
				s.log.Warn("UDP GSO off: the WebRTC port sends one packet per message", "reason", reason, "err", err)
			}), udpbatch.WithOnQuietOff(func(err error) {
				s.log.Info("the WebRTC port sends from its own socket, not a quiet twin", "err", err)
			}))
			bc.SetOnDrop(func(reason string, n int) { metrics.UDPWriteDropped.WithLabelValues(reason).Add(float64(n)) })
			mc = bc
		}
		// Viewers that send directly read their SRTCP off the port
		// before pion's mux does (sender.Port).
		s.out = sender.NewPort(mc)
		// A direct viewer's agent hears its own checks answered every
		// viewerKeepalive; past half its disconnected timeout, the
		// port hands it the viewer's next request (sender.iceAnswer).
		s.out.SetHandOver(cfg.DisconnectedTimeout / 2)
		// One reader at a time per session and family: see orderedMux.
		s.mux = newOrderedMux(webrtc.NewICEUDPMux(nil, s.out))
	}
	api, err := s.newAPI()
	if err != nil {
		_ = s.closeMux()
		return nil, err
	}
	s.api = api
	if s.publishAPI, err = s.newPublishAPI(); err != nil {
		_ = s.closeMux()
		return nil, err
	}
	return s, nil
}

// closeMux releases the shared UDP port, if the server has one.
func (s *Server) closeMux() error {
	if s.mux == nil {
		return nil
	}
	return s.mux.Close()
}

func (s *Server) newAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	var err error
	if err := registerViewerVideo(me, s.cfg.ViewerCodecs, videoFeedback); err != nil {
		return nil, err
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}},
		},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register Opus: %w", err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sender.PlayoutDelayURI}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("register playout-delay: %w", err)
	}
	ir := &interceptor.Registry{}
	err = sender.RegisterInterceptors(me, ir, sender.InterceptorOptions{
		Resend:         s.cfg.Adapt.Resend,
		InitialBitrate: s.cfg.InitialBitrate,
		MinBitrate:     s.cfg.Adapt.MinEstimate,
		MaxBitrate:     s.cfg.Adapt.MaxEstimate,
		NoGCC:          s.cfg.Adapt.Estimator == sender.EstimatorMeter,
		// Handed over under ccMu, as each PeerConnection is made.
		OnMeter:     func(m *sender.Meter) { s.newMeter = m },
		OnEstimator: func(e cc.BandwidthEstimator) { s.newEstimator = e },
	})
	if err != nil {
		return nil, err
	}
	se := s.settingEngine(s.cfg.DisconnectedTimeout, s.cfg.FailedTimeout, viewerKeepalive(s.cfg.DisconnectedTimeout))
	// To a browser's actpass offer the viewer answers passive: the browser
	// is the DTLS client and offers its SRTP profiles, of which mediad, the
	// server, picks AES-GCM first (a browser as server picks AES-CM with
	// HMAC-SHA1, which costs the sender more per packet); and the
	// handshake does not hang on the browser's reading of a first flight.
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		return nil, fmt.Errorf("dtls role: %w", err)
	}
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// newPublishAPI builds the pion API for WHIP publishers: the codecs and
// interceptors ingest accepts, on the same UDP port, with shorter timeouts
// so a dead publisher is noticed quickly.
func (s *Server) newPublishAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := ingest.RegisterCodecs(me); err != nil {
		return nil, fmt.Errorf("whip codecs: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := ingest.RegisterInterceptors(me, ir); err != nil {
		return nil, fmt.Errorf("whip interceptors: %w", err)
	}
	se := s.settingEngine(s.cfg.PublisherDisconnectedTimeout, s.cfg.PublisherFailedTimeout, min(s.cfg.PublisherDisconnectedTimeout/3, 2*time.Second))
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// viewerKeepalive is how often a viewer's ICE agent checks the selected
// pair, for a disconnected timeout of disconnected: 2/5 of it (2 s by
// default), so that one lost answer leaves the pair connected. pion's
// agent (ice v4.4.8) ticks, and checks, at least every 2 s whatever a
// longer interval asks. A direct
// viewer's own checks are answered by the port (sender.iceAnswer), so
// the answers to these are most of what its agent reads of it; they
// also keep consent fresh on mediad's side (RFC 7675: 4 to 6 s).
func viewerKeepalive(disconnected time.Duration) time.Duration {
	return min(disconnected*2/5, 5*time.Second)
}

func (s *Server) settingEngine(disconnected, failed, keepalive time.Duration) webrtc.SettingEngine {
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if s.nw != nil {
		// A virtual network: IPv4 only, no loopback.
		se.SetNet(s.nw)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	} else {
		se.SetICEUDPMux(s.mux)
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	}
	se.SetICETimeouts(disconnected, failed, keepalive)
	// A lost first flight costs this, not pion's default second.
	se.SetDTLSRetransmissionInterval(s.cfg.DTLSRetransmitInterval)
	if len(s.cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(s.cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	return se
}

// UDPAddr returns the address of the shared ICE port, nil on a server
// without one (a virtual network).
func (s *Server) UDPAddr() net.Addr {
	if s.conn == nil {
		return nil
	}
	return s.conn.LocalAddr()
}

// Sessions returns the number of live sessions of kind ("whip", "whep"),
// or of both when kind is empty.
func (s *Server) Sessions(kind ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.sessions {
		if len(kind) == 0 || v.Kind() == kind[0] {
			n++
		}
	}
	return n
}

func (s *Server) iceServers() []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(s.cfg.ICEServers))
	for _, is := range s.cfg.ICEServers {
		out = append(out, webrtc.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	return out
}

// add registers a session unless max sessions of its kind are live.
func (s *Server) add(v session, max int, full error) error {
	if err := s.reserve(v.Kind(), max, full); err != nil {
		return err
	}
	if err := s.publish(v); err != nil {
		s.release(v.Kind())
		return err
	}
	return nil
}

// reserve holds a place for a session of kind that is being built, unless
// max sessions of that kind are live or being built; Close waits for it.
// The session goes into the map (where the API and the URLs find it) with
// publish once it is complete, or its place is given back with release.
func (s *Server) reserve(kind string, max int, full error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return stream.ErrClosed
	}
	if max > 0 {
		n := s.reserved[kind]
		for _, o := range s.sessions {
			if o.Kind() == kind {
				n++
			}
		}
		if n >= max {
			return full
		}
	}
	s.reserved[kind]++
	s.wg.Add(1)
	return nil
}

// publish puts a complete session, whose place reserve holds, in the map.
// It fails once the server is closing; the place is still held then.
func (s *Server) publish(v session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return stream.ErrClosed
	}
	s.reserved[v.Kind()]--
	s.sessions[v.ID()] = v
	return nil
}

// release gives back the place of a session that was never published.
func (s *Server) release(kind string) {
	s.mu.Lock()
	s.reserved[kind]--
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) remove(v session) {
	s.mu.Lock()
	if s.sessions[v.ID()] == v {
		delete(s.sessions, v.ID())
	}
	s.mu.Unlock()
}

func (s *Server) session(id string) session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

// Close ends every session, waits for them and releases the UDP port.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	all := make([]session, 0, len(s.sessions))
	for _, v := range s.sessions {
		all = append(all, v)
	}
	s.mu.Unlock()
	for _, v := range all {
		go v.Close()
	}
	s.wg.Wait()
	s.consent.wait() // it ends with the last session's watch
	return s.closeMux()
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CloseSessions ends every session of kind ("whip" or "whep") and waits.
func (s *Server) CloseSessions(kind string) {
	s.mu.Lock()
	var all []session
	for _, v := range s.sessions {
		if v.Kind() == kind {
			all = append(all, v)
		}
	}
	s.mu.Unlock()
	for _, v := range all {
		v.Close()
	}
}

// directConn is the port viewers write their RTP to themselves, nil when
// they go through pion (webrtc.direct_send off, or a virtual network).
func (s *Server) directConn() *sender.Port {
	// Without the write batcher a write could wait on the socket's
	// buffer, and a direct viewer's writes run in the feed's goroutine.
	if !s.cfg.DirectSend || s.cfg.WriteBatch.Size == 0 {
		return nil
	}
	return s.out
}
