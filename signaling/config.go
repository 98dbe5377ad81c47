// Package signaling serves WHEP (draft-ietf-wish-whep) resources: it turns an
// SDP offer into a viewer session whose pion PeerConnection sends a stream's
// feeds to a browser.
package signaling

import (
	"errors"
	"fmt"
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
	// MaxViewers caps concurrent viewer sessions; 0 means no cap.
	MaxViewers int `yaml:"max_viewers"`
	// DisconnectedTimeout is how long ICE may see no traffic before a session
	// counts as disconnected.
	DisconnectedTimeout time.Duration `yaml:"disconnected_timeout"`
	// FailedTimeout is how long after disconnection ICE gives up; the
	// session is then reaped.
	FailedTimeout time.Duration `yaml:"failed_timeout"`
	// ViewerQueue is the number of packets a viewer may fall behind before it
	// skips to the next keyframe.
	ViewerQueue int `yaml:"viewer_queue"`
}

// DefaultConfig returns the defaults: port 8189, 5 s to disconnected, 10 s more to failed.
func DefaultConfig() Config {
	return Config{
		UDPPort:             8189,
		DisconnectedTimeout: 5 * time.Second,
		FailedTimeout:       8 * time.Second,
		ViewerQueue:         256,
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
	if c.MaxViewers < 0 {
		errs = append(errs, errors.New("max_viewers: must be >= 0"))
	}
	for i, s := range c.ICEServers {
		if len(s.URLs) == 0 {
			errs = append(errs, fmt.Errorf("ice_servers[%d].urls: at least one URL", i))
		}
	}
	return errors.Join(errs...)
}
