package cluster

import (
	"fmt"
	"net/url"
	"os"
	"time"
)

// Roles a node can take.
const (
	// RoleOrigin takes publishers and serves its own viewers, and pulls
	// nothing from other nodes.
	RoleOrigin = "origin"
	// RoleEdge takes no publisher: it plays streams published elsewhere
	// by pulling them from their origin.
	RoleEdge = "edge"
	// RoleBoth does both: the default.
	RoleBoth = "both"
)

// Config is the cluster section of mediad.yml. Without it mediad is a
// single node and nothing of this package runs.
type Config struct {
	// Redis is the directory's address: redis://[:password@]host:port[/db]
	// (rediss:// for TLS).
	Redis string `yaml:"redis"`
	// NodeID names this node in the directory; empty is the host name.
	// Two live nodes must not share one.
	NodeID string `yaml:"node_id"`
	// AdvertiseURL is where other nodes and players reach this node's
	// HTTP server (http://10.0.0.5:8080): edges pull from it, players
	// retry on it.
	AdvertiseURL string `yaml:"advertise_url"`
	// Role is origin, edge or both (default both): an edge takes no
	// publisher, an origin pulls from nobody.
	Role string `yaml:"role"`
	// Token is the bearer token nodes pull from each other with; every
	// node of the cluster has the same one, and each accepts it like a
	// viewer token. At least 16 characters. Never logged.
	Token string `yaml:"token"`
	// Lease is how long a stream's origin record lives without renewal:
	// after an origin dies, its streams can be taken by another node this
	// long at most after its last renewal (renewed every third of it).
	Lease time.Duration `yaml:"lease"`
	// Heartbeat is how often a node records itself in the node list; an
	// entry not renewed for three heartbeats drops out of it.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// PullLinger is how long an edge keeps pulling a rung that none of
	// its viewers watches any more (a viewer switching rungs comes back).
	PullLinger time.Duration `yaml:"pull_linger"`
	// EdgeIdle is how long an edge keeps a pulled stream without a viewer
	// before it lets it go.
	EdgeIdle time.Duration `yaml:"edge_idle"`
	// KeyPrefix starts every key mediad writes in Redis, so clusters can
	// share one Redis.
	KeyPrefix string `yaml:"key_prefix"`
}

// Default returns the defaults of every key but redis, advertise_url and
// token, which have none.
func Default() Config {
	return Config{
		Role:       RoleBoth,
		Lease:      3 * time.Second,
		Heartbeat:  time.Second,
		PullLinger: 2 * time.Second,
		EdgeIdle:   10 * time.Second,
		KeyPrefix:  "mediad:",
	}
}

// WithDefaults fills the keys left empty with their defaults.
func (c Config) WithDefaults() Config {
	d := Default()
	if c.Role == "" {
		c.Role = d.Role
	}
	if c.Lease == 0 {
		c.Lease = d.Lease
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = d.Heartbeat
	}
	if c.PullLinger == 0 {
		c.PullLinger = d.PullLinger
	}
	if c.EdgeIdle == 0 {
		c.EdgeIdle = d.EdgeIdle
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = d.KeyPrefix
	}
	if c.NodeID == "" {
		if h, err := os.Hostname(); err == nil {
			c.NodeID = h
		}
	}
	return c
}

// MinTokenLen is the shortest cluster token accepted.
const MinTokenLen = 16

// Validate checks the section, defaults filled; errors name the key.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if c.Redis == "" {
		return fmt.Errorf("cluster.redis: required (redis://host:6379)")
	}
	if _, err := parseRedisURL(c.Redis); err != nil {
		return fmt.Errorf("cluster.redis: %w", err)
	}
	if c.NodeID == "" {
		return fmt.Errorf("cluster.node_id: required (the host name is unknown)")
	}
	u, err := url.Parse(c.AdvertiseURL)
	if c.AdvertiseURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("cluster.advertise_url: need an http:// or https:// URL other nodes reach this node at, got %q", c.AdvertiseURL)
	}
	switch c.Role {
	case RoleOrigin, RoleEdge, RoleBoth:
	default:
		return fmt.Errorf("cluster.role: %q is not origin, edge or both", c.Role)
	}
	if len(c.Token) < MinTokenLen {
		return fmt.Errorf("cluster.token: need at least %d characters (the bearer token nodes pull with)", MinTokenLen)
	}
	if c.Lease < 300*time.Millisecond {
		return fmt.Errorf("cluster.lease: %v is shorter than 300ms", c.Lease)
	}
	if c.Heartbeat < 100*time.Millisecond {
		return fmt.Errorf("cluster.heartbeat: %v is shorter than 100ms", c.Heartbeat)
	}
	if c.PullLinger < 0 {
		return fmt.Errorf("cluster.pull_linger: negative")
	}
	if c.EdgeIdle < time.Second {
		return fmt.Errorf("cluster.edge_idle: %v is shorter than 1s", c.EdgeIdle)
	}
	return nil
}

// CanOrigin reports whether the node takes publishers.
func (c Config) CanOrigin() bool { return c.Role != RoleEdge }

// CanEdge reports whether the node pulls streams from other nodes.
func (c Config) CanEdge() bool { return c.Role != RoleOrigin }
