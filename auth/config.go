package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// Config is the auth section of mediad.yml: who may publish and play.
type Config struct {
	// PublishToken may publish any stream that has no token of its own.
	// Empty, with no per-stream tokens and no JWT keys either, means mediad
	// generates one at start and prints it.
	PublishToken string `yaml:"publish_token"`
	// AdminToken is the bearer token that may change mutation chains.
	// Empty means mediad generates one at start and prints it.
	AdminToken string `yaml:"admin_token"`
	// Streams gives a stream name its own token, which then is the only one
	// that may publish it.
	Streams map[string]StreamAuth `yaml:"streams"`
	// Play is who may watch: "open" (anyone) or "token" (a viewer token or
	// a JWT that grants play). A webrtc.viewer_token makes it "token".
	Play string `yaml:"play"`
	// JWT lists the keys that verify JSON Web Tokens for publish and play.
	JWT JWT `yaml:"jwt"`
	// WebhookURL, when set, is asked (POST JSON) about every publish and
	// play that a token already allowed; 2xx allows, anything else denies.
	WebhookURL string `yaml:"webhook_url"`
	// WebhookTimeout bounds a webhook call; a call that times out denies.
	WebhookTimeout time.Duration `yaml:"webhook_timeout"`
	// WebhookCache is how long a webhook's answer is reused for the same
	// request; 0 asks every time.
	WebhookCache time.Duration `yaml:"webhook_cache"`
	// WebhookCacheSize bounds the number of cached answers.
	WebhookCacheSize int `yaml:"webhook_cache_size"`
	// MaxStreamsPerToken caps the streams one token (a static token, or a
	// JWT subject) publishes at once; 0 means no cap.
	MaxStreamsPerToken int `yaml:"max_streams_per_token"`
}

// StreamAuth is one stream's publishing credential.
type StreamAuth struct {
	// Token is the stream's publish token.
	Token string `yaml:"token"`
}

// JWT configures JSON Web Token verification.
type JWT struct {
	// Keys verify tokens. A token whose header names a kid is checked with
	// the key of that id only; otherwise with each key of the token's alg.
	Keys []JWTKey `yaml:"keys"`
	// Issuer, when set, is the iss claim every token must carry.
	Issuer string `yaml:"issuer"`
	// Audience, when set, must be among every token's aud claim.
	Audience string `yaml:"audience"`
}

// JWTKey is one verification key, pinned to one algorithm.
type JWTKey struct {
	// ID matches a token's kid header; empty matches tokens without one.
	ID string `yaml:"id"`
	// Alg is the only algorithm this key accepts: HS256, HS384, HS512,
	// RS256, RS384, RS512, ES256, ES384 or EdDSA.
	Alg string `yaml:"alg"`
	// Secret is the shared secret of an HS* key (32 bytes at least).
	Secret string `yaml:"secret"`
	// PublicKeyFile is a PEM public key for RS*, ES* and EdDSA.
	PublicKeyFile string `yaml:"public_key_file"`
}

// Play modes.
const (
	PlayOpen  = "open"
	PlayToken = "token"
)

// DefaultConfig returns the defaults: play open, no JWT, no webhook, a 2 s
// webhook timeout, answers cached 30 s (10000 at most), no stream cap.
func DefaultConfig() Config {
	return Config{
		Play:             PlayOpen,
		WebhookTimeout:   2 * time.Second,
		WebhookCache:     30 * time.Second,
		WebhookCacheSize: 10000,
	}
}

var streamName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate checks the section; errors name the key ("auth.…").
func (c Config) Validate() error {
	var errs []error
	for name, s := range c.Streams {
		if !streamName.MatchString(name) {
			errs = append(errs, fmt.Errorf("auth.streams.%s: a stream name is 1-64 of A-Z a-z 0-9 _ -", name))
		}
		if s.Token == "" {
			errs = append(errs, fmt.Errorf("auth.streams.%s.token: must not be empty", name))
		}
	}
	switch c.Play {
	case PlayOpen, PlayToken, "":
	default:
		errs = append(errs, fmt.Errorf("auth.play: %q is not open or token", c.Play))
	}
	for i, k := range c.JWT.Keys {
		if _, err := loadKey(k); err != nil {
			errs = append(errs, fmt.Errorf("auth.jwt.keys[%d]: %w", i, err))
		}
	}
	if c.WebhookURL != "" {
		u, err := url.Parse(c.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("auth.webhook_url: %q is not an http or https URL", MaskString(c.WebhookURL)))
		}
	}
	if c.WebhookTimeout <= 0 {
		errs = append(errs, errors.New("auth.webhook_timeout: must be > 0"))
	}
	if c.WebhookCache < 0 {
		errs = append(errs, errors.New("auth.webhook_cache: must be >= 0"))
	}
	if c.WebhookCacheSize < 1 {
		errs = append(errs, errors.New("auth.webhook_cache_size: must be >= 1"))
	}
	if c.MaxStreamsPerToken < 0 {
		errs = append(errs, errors.New("auth.max_streams_per_token: must be >= 0"))
	}
	return errors.Join(errs...)
}

// EnsureAdminToken generates an admin token when none is configured and
// reports whether it did.
func (c *Config) EnsureAdminToken() bool {
	if c.AdminToken != "" {
		return false
	}
	c.AdminToken = randomToken()
	return true
}

// EnsureToken generates a global publish token when no publish credential
// (publish token, per-stream token or JWT key) is configured and reports
// whether it did.
func (c *Config) EnsureToken() bool {
	if c.PublishToken != "" || len(c.Streams) > 0 || len(c.JWT.Keys) > 0 {
		return false
	}
	c.PublishToken = randomToken()
	return true
}

// Admin reports whether token is the admin token, in constant time.
func (c Config) Admin(token string) bool { return Equal(c.AdminToken, token) }

// Allow reports whether a static token may publish name: the stream's own
// token when it has one, else the global token. Comparisons take constant
// time. JWTs and the webhook are the Authorizer's.
func (c Config) Allow(name, token string) bool {
	if s, ok := c.Streams[name]; ok {
		return Equal(s.Token, token)
	}
	return Equal(c.PublishToken, token)
}

// Equal compares a token with the wanted one in constant time; an empty
// want matches nothing.
func Equal(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func randomToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
