// Package signaling serves WHEP (draft-ietf-wish-whep) resources: it turns an
// SDP offer into a viewer session whose pion PeerConnection sends a stream's
// feeds to a browser.
package signaling

import (
	"errors"
	"fmt"
	"strings"
	"time"

	ingest "github.com/mutstream/mutstream/ingest/webrtc"
	"github.com/mutstream/mutstream/sender"
	"github.com/mutstream/mutstream/stream"
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

// WriteBatch is webrtc.write_batch.
type WriteBatch struct {
	Size     int           `yaml:"size"`
	Interval time.Duration `yaml:"interval"`
	// GSO sends the packets a batch holds for one viewer back to back
	// as one UDP GSO message (Linux 4.18+): the same datagrams, less CPU.
	// Off where the system lacks it, and for good once it refuses one.
	// Has no effect when Size is 0.
	GSO bool `yaml:"gso"`
}

// Config holds the WebRTC settings.
type Config struct {
	// UDPPort is the one UDP port all ICE traffic uses (a UDP mux). 0 picks a free port.
	UDPPort int `yaml:"udp_port"`
	// UDPAddr is the address the mux listens on; empty means all addresses.
	UDPAddr string `yaml:"udp_addr"`
	// PublicIPs are extra host addresses to advertise, e.g. a NAT's public IP.
	PublicIPs []string `yaml:"public_ips"`
	// WriteBatch gathers the packets every session writes to the UDP port
	// and sends them with one sendmmsg per batch (Linux): up to Size
	// packets, none held longer than Interval. Size 0 writes each packet
	// with its own system call.
	WriteBatch WriteBatch `yaml:"write_batch"`
	// ICEServers are STUN/TURN servers offered to clients. One with a
	// username goes out only in the answer to an authorized POST.
	ICEServers []ICEServer `yaml:"ice_servers"`
	// TURN hands each authorized WHIP/WHEP client short-lived credentials
	// for a TURN server that shares Secret (the TURN REST convention).
	TURN TURN `yaml:"turn"`
	// MaxViewers caps concurrent viewer sessions; 0 means no cap (503 beyond it).
	MaxViewers int `yaml:"max_viewers"`
	// MaxPublishers caps concurrent WHIP publishers; 0 means no cap (503 beyond it).
	MaxPublishers int `yaml:"max_publishers"`
	// ViewerToken, when set, is the bearer token WHEP requests must carry;
	// empty means anyone may watch.
	ViewerToken string `yaml:"viewer_token"`
	// RateLimit bounds POST, PATCH and DELETE per client address, with
	// one bucket for viewers (WHEP) and one for publishers (WHIP).
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
	// DirectSend has each viewer, once connected, encrypt its RTP, read its
	// SRTCP and write to the UDP port itself instead of through pion's SRTP
	// session and ICE connection (less CPU per packet). A viewer on a
	// relayed or TCP pair, with the gcc estimator, or with WriteBatch.Size
	// 0 goes through pion whatever this says; a direct viewer whose pair
	// moves off the port is disconnected (its player reconnects).
	DirectSend bool `yaml:"direct_send"`
	// InitialBitrate is where each viewer's bandwidth estimate (GCC on
	// transport-wide congestion control feedback) starts, in bits per second.
	InitialBitrate int `yaml:"initial_bitrate"`
	// Adapt tunes each viewer's adaptation, in one section: the controller
	// that picks the rung, how raw feedback is shaped for it and probes
	// run, and the mechanics under them (link readings, the video hold,
	// retransmissions).
	Adapt sender.Config `yaml:"adapt"`
	// ViewerQueue is the number of packets a viewer may fall behind before it
	// skips to the next keyframe.
	ViewerQueue int `yaml:"viewer_queue"`
	// ViewerCodecs are the video codecs viewers may be sent, best first:
	// a WHEP offer is answered with the first of them that the offer has
	// and the stream sends ("h264", "vp8").
	ViewerCodecs []stream.Codec `yaml:"viewer_codecs"`
	// DTLSRetransmitInterval is how long mediad waits for an answer to a
	// DTLS handshake flight before it sends the flight again (doubling
	// each time). Some clients drop the first flight (FFmpeg's WHIP muxer
	// reads mediad's first ClientHello before its DTLS context exists):
	// this is what that costs. pion's default is 1s.
	DTLSRetransmitInterval time.Duration `yaml:"dtls_retransmit_interval"`
	// ConsentTimeout ends a WHIP or WHEP session whose peer has sent
	// nothing (media, RTCP, STUN responses) this long: its consent to
	// receive has expired (RFC 7675 section 5.1: 30s), whatever the ICE
	// timeouts say. A viewer whose browser was killed is gone by then.
	ConsentTimeout time.Duration `yaml:"consent_timeout"`
}

// RateLimit is a token bucket per client address (an IPv6 client by its
// /64) for each kind of client.
type RateLimit struct {
	// Viewers bounds WHEP requests.
	Viewers Bucket `yaml:"viewers"`
	// Publishers bounds WHIP requests.
	Publishers Bucket `yaml:"publishers"`
	// PerSecond and Burst are the old single limit: when either is set,
	// they replace both buckets.
	//
	// Deprecated: set viewers and publishers.
	PerSecond float64 `yaml:"per_second"`
	// Burst: see PerSecond.
	//
	// Deprecated: set viewers and publishers.
	Burst int `yaml:"burst"`
}

// Bucket is one token bucket's size and refill.
type Bucket struct {
	// PerSecond is the sustained rate of requests; 0 turns the limit off.
	PerSecond float64 `yaml:"per_second"`
	// Burst is how many requests may come at once.
	Burst int `yaml:"burst"`
}

// Buckets returns the viewers' and publishers' buckets in force.
func (r RateLimit) Buckets() (viewers, publishers Bucket) {
	if r.PerSecond != 0 || r.Burst != 0 {
		b := Bucket{PerSecond: r.PerSecond, Burst: r.Burst}
		return b, b
	}
	return r.Viewers, r.Publishers
}

// TURN is a TURN server whose credentials mediad makes per client.
type TURN struct {
	// URLs of the TURN server, e.g. "turn:turn.example.com:3478?transport=udp",
	// "turns:turn.example.com:5349".
	URLs []string `yaml:"urls"`
	// Secret is the shared secret (coturn's static-auth-secret); empty
	// turns this off.
	Secret string `yaml:"secret"`
	// TTL is how long a credential is good for.
	TTL time.Duration `yaml:"ttl"`
}

// DefaultConfig returns the defaults: port 8189; a vanished viewer is reaped
// within 13 s and a vanished publisher noticed within 8 s; per client
// address, viewers 10 requests a second in bursts of 200 (a class of 100
// behind one NAT joins at once), publishers 5 a second in bursts of 20.
func DefaultConfig() Config {
	return Config{
		UDPPort:             8189,
		WriteBatch:          WriteBatch{Size: 32, Interval: time.Millisecond, GSO: true},
		DisconnectedTimeout: 5 * time.Second,
		FailedTimeout:       8 * time.Second,
		ViewerQueue:         256,
		ViewerCodecs:        []stream.Codec{stream.CodecH264, stream.CodecVP8},
		LowLatencyPlayout:   true,
		DirectSend:          true,
		InitialBitrate:      1_500_000,
		Adapt:               sender.DefaultConfig(),
		WHIP:                ingest.DefaultConfig(),
		RateLimit: RateLimit{
			Viewers:    Bucket{PerSecond: 10, Burst: 200},
			Publishers: Bucket{PerSecond: 5, Burst: 20},
		},
		TURN: TURN{TTL: 2 * time.Hour},

		DTLSRetransmitInterval: 150 * time.Millisecond,
		ConsentTimeout:         30 * time.Second,

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
	if c.WriteBatch.Size < 0 || c.WriteBatch.Size > 1024 {
		errs = append(errs, fmt.Errorf("write_batch.size: %d is not 0 to 1024", c.WriteBatch.Size))
	}
	if c.WriteBatch.Size > 0 && (c.WriteBatch.Interval <= 0 || c.WriteBatch.Interval > 20*time.Millisecond) {
		errs = append(errs, fmt.Errorf("write_batch.interval: %v is not over 0 and at most 20ms", c.WriteBatch.Interval))
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
	if c.RateLimit.PerSecond < 0 || c.RateLimit.Burst < 0 || ((c.RateLimit.PerSecond != 0) != (c.RateLimit.Burst != 0)) {
		errs = append(errs, errors.New("rate_limit.per_second, rate_limit.burst (deprecated: use rate_limit.viewers and rate_limit.publishers): set both, per_second >= 0 and burst >= 1"))
	}
	for name, b := range map[string]Bucket{"viewers": c.RateLimit.Viewers, "publishers": c.RateLimit.Publishers} {
		if b.PerSecond < 0 || (b.PerSecond > 0 && b.Burst < 1) {
			errs = append(errs, fmt.Errorf("rate_limit.%s: per_second must be >= 0 and burst >= 1", name))
		}
	}
	if err := c.TURN.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxPublishers < 0 {
		errs = append(errs, errors.New("max_publishers: must be >= 0"))
	}
	if c.MaxViewers < 0 {
		errs = append(errs, errors.New("max_viewers: must be >= 0"))
	}
	if c.DTLSRetransmitInterval < 10*time.Millisecond || c.DTLSRetransmitInterval > 5*time.Second {
		errs = append(errs, fmt.Errorf("dtls_retransmit_interval: %v is outside 10ms..5s", c.DTLSRetransmitInterval))
	}
	if c.ConsentTimeout < 100*time.Millisecond || c.ConsentTimeout > 5*time.Minute {
		errs = append(errs, fmt.Errorf("consent_timeout: %v is outside 100ms..5m", c.ConsentTimeout))
	}
	if c.InitialBitrate < 30_000 || c.InitialBitrate > 50_000_000 {
		errs = append(errs, fmt.Errorf("initial_bitrate: %d is outside 30000..50000000", c.InitialBitrate))
	}
	if err := validateViewerCodecs(c.ViewerCodecs); err != nil {
		errs = append(errs, err)
	}
	if err := c.Adapt.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("adapt: %w", err))
	}
	if err := c.WHIP.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("whip: %w", err))
	}
	for i, s := range c.ICEServers {
		if len(s.URLs) == 0 {
			errs = append(errs, fmt.Errorf("ice_servers[%d].urls: at least one URL", i))
		}
		for j, u := range s.URLs {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				errs = append(errs, fmt.Errorf("ice_servers[%d].urls[%d]: %q is not a stun:, stuns:, turn: or turns: URL", i, j, u))
			}
		}
	}
	return errors.Join(errs...)
}

func (t TURN) validate() error {
	if t.Secret == "" {
		return nil
	}
	var errs []error
	if len(t.URLs) == 0 {
		errs = append(errs, errors.New("turn.urls: a TURN secret needs at least one turn: or turns: URL"))
	}
	for i, u := range t.URLs {
		if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			errs = append(errs, fmt.Errorf("turn.urls[%d]: %q is not a turn: or turns: URL", i, u))
		}
	}
	if t.TTL < time.Minute || t.TTL > 48*time.Hour {
		errs = append(errs, fmt.Errorf("turn.ttl: %v is outside 1m..48h", t.TTL))
	}
	return errors.Join(errs...)
}
