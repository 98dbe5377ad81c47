// Package signaling serves WHEP (draft-ietf-wish-whep) resources: it turns an
// SDP offer into a viewer session whose pion PeerConnection sends a stream's
// feeds to a browser.
package signaling

import (
	"errors"

	"fmt"
	"github.com/mutstream/mutstream/adapt"
	ingest "github.com/mutstream/mutstream/ingest/webrtc"
	"time"
)

// ICEServer is a STUN or TURN server given to clients.
type ICEServer struct {
	// URLs such as "stun:stun.example.com:3478" or "turn:turn.example.com?transport=udp".
	URLs []string `yaml:"urls"`
	// Username for TURN.
	Username string `yaml:"username"`
	// Credential for TURN.
	Credential string `yaml:"credential"`
}

// Config holds the WebRTC settings.
type Config struct {
	// UDPPort is the one UDP port all ICE traffic uses (a UDP mux). 0 picks a free port.
	UDPPort int `yaml:"udp_port"`
	// UDPAddr is the address the mux listens on; empty means all addresses.
	UDPAddr string `yaml:"udp_addr"`
	// PublicIPs are extra host addresses to advertise, e.g. a NAT's public IP.
	PublicIPs []string `yaml:"public_ips"`
	// ICEServers are STUN/TURN servers offered to clients.
	ICEServers []ICEServer `yaml:"ice_servers"`
	// MaxViewers caps concurrent viewer sessions; 0 means no cap (503 beyond it).
	MaxViewers int `yaml:"max_viewers"`
	// MaxPublishers caps concurrent WHIP publishers; 0 means no cap (503 beyond it).
	MaxPublishers int `yaml:"max_publishers"`
	// ViewerToken, when set, is the bearer token WHEP requests must carry;
	// empty means anyone may watch.
	ViewerToken string `yaml:"viewer_token"`
	// RateLimit bounds POST, PATCH and DELETE per client address.
	RateLimit RateLimit `yaml:"rate_limit"`
	// PublisherDisconnectedTimeout is how long a WHIP publisher's ICE may be
	// silent before it counts as disconnected.
	PublisherDisconnectedTimeout time.Duration `yaml:"publisher_disconnected_timeout"`
	// WHIP tunes the receiving side of WHIP publishers.
	WHIP ingest.Config `yaml:"whip"`
	// PublisherFailedTimeout is how long after that its session ends (the
	// stream then waits ingest.grace for a reconnect).
	PublisherFailedTimeout time.Duration `yaml:"publisher_failed_timeout"`
	// DisconnectedTimeout is how long ICE may see no traffic before a session
	// counts as disconnected.
	DisconnectedTimeout time.Duration `yaml:"disconnected_timeout"`
	// FailedTimeout is how long after disconnection ICE gives up; the
	// session is then reaped.
	FailedTimeout time.Duration `yaml:"failed_timeout"`
	// LowLatencyPlayout asks viewers' browsers to render each frame as soon
	// as it is decoded (RTP playout-delay extension, min = max = 0) instead of
	// holding it in an adaptive jitter buffer: lower latency, less smoothing
	// on a jittery link.
	LowLatencyPlayout bool `yaml:"low_latency_playout"`
	// InitialBitrate is where each viewer's bandwidth estimate (GCC on
	// transport-wide congestion control feedback) starts, in bits per second.
	InitialBitrate int `yaml:"initial_bitrate"`
	// Adapt tunes the per-viewer controller that picks the rung.
	Adapt adapt.Config `yaml:"adapt"`
	// Sender tunes the mechanics under it: link readings, probes, the
	// video hold and retransmissions.
	Sender SenderConfig `yaml:"sender"`
	// ViewerQueue is the number of packets a viewer may fall behind before it
	// skips to the next keyframe.
	ViewerQueue int `yaml:"viewer_queue"`
}

// RateLimit is a token bucket per client address.
type RateLimit struct {
	// PerSecond is the sustained rate of requests; 0 turns the limit off.
	PerSecond float64 `yaml:"per_second"`
	// Burst is how many requests may come at once.
	Burst int `yaml:"burst"`
}

// DefaultConfig returns the defaults: port 8189; a vanished viewer is reaped
// within 13 s and a vanished publisher noticed within 8 s; 5 requests a
// second (bursts of 20) per client address.
func DefaultConfig() Config {
	return Config{
		UDPPort:             8189,
		DisconnectedTimeout: 5 * time.Second,
		FailedTimeout:       8 * time.Second,
		ViewerQueue:         256,
		LowLatencyPlayout:   true,
		InitialBitrate:      1_500_000,
		Adapt:               adapt.DefaultConfig(),
		Sender:              DefaultSenderConfig(),
		WHIP:                ingest.DefaultConfig(),
		RateLimit:           RateLimit{PerSecond: 5, Burst: 20},

		PublisherDisconnectedTimeout: 3 * time.Second,
		PublisherFailedTimeout:       5 * time.Second,
	}
}

// Validate checks the config.
func (c Config) Validate() error {
	var errs []error
	if c.UDPPort < 0 || c.UDPPort > 65535 {
		errs = append(errs, fmt.Errorf("udp_port: %d is not a port", c.UDPPort))
	}
	if c.DisconnectedTimeout <= 0 {
		errs = append(errs, errors.New("disconnected_timeout: must be > 0"))
	}
	if c.FailedTimeout <= 0 {
		errs = append(errs, errors.New("failed_timeout: must be > 0"))
	}
	if c.PublisherDisconnectedTimeout <= 0 || c.PublisherFailedTimeout <= 0 {
		errs = append(errs, errors.New("publisher_disconnected_timeout, publisher_failed_timeout: must be > 0"))
	}
	if c.RateLimit.PerSecond < 0 || (c.RateLimit.PerSecond > 0 && c.RateLimit.Burst < 1) {
		errs = append(errs, errors.New("rate_limit: per_second must be >= 0 and burst >= 1"))
	}
	if c.MaxPublishers < 0 {
		errs = append(errs, errors.New("max_publishers: must be >= 0"))
	}
	if c.MaxViewers < 0 {
		errs = append(errs, errors.New("max_viewers: must be >= 0"))
	}
	if c.InitialBitrate < 30_000 || c.InitialBitrate > 50_000_000 {
		errs = append(errs, fmt.Errorf("initial_bitrate: %d is outside 30000..50000000", c.InitialBitrate))
	}
	if err := c.Adapt.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("adapt: %w", err))
	}
	if err := c.Sender.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("sender: %w", err))
	}
	if err := c.WHIP.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("whip: %w", err))
	}
	for i, s := range c.ICEServers {
		if len(s.URLs) == 0 {
			errs = append(errs, fmt.Errorf("ice_servers[%d].urls: at least one URL", i))
		}
	}
	return errors.Join(errs...)
}
