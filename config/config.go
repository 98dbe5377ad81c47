// Package config is mediad's configuration: one YAML file whose root is made
// of each package's own config struct, every key with a default.
package config

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/ingest/rtmp"
	"github.com/mutstream/mutstream/signaling"
	"github.com/mutstream/mutstream/transcode"
)

// Config is the root of mediad.yml.
type Config struct {
	// HTTP serves pages, the REST API, WHEP, /metrics and /healthz.
	HTTP HTTP `yaml:"http"`
	// Ingest holds what every ingest protocol shares.
	Ingest Ingest `yaml:"ingest"`
	// RTMP is the RTMP ingest server.
	RTMP rtmp.Config `yaml:"rtmp"`
	// WebRTC is the WHEP side.
	WebRTC signaling.Config `yaml:"webrtc"`
	// Transcode is the ladder and the encoders.
	Transcode transcode.Config `yaml:"transcode"`
	// GPU chooses where each stage runs.
	GPU GPU `yaml:"gpu"`
	// Mutations configures per-frame mutation chains.
	Mutations Mutations `yaml:"mutations"`
	// Demo is the built-in test stream named "demo".
	Demo Demo `yaml:"demo"`
	// Auth holds publish tokens.
	Auth Auth `yaml:"auth"`
	// Log sets logging.
	Log Log `yaml:"log"`
	// ShutdownTimeout is how long mediad, on SIGTERM or SIGINT, drains:
	// new sessions get 503, viewers and publishers are told the streams
	// end, and it waits up to this long for them to leave before it
	// closes what is left. A second signal ends at once.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// GPU chooses where decode, mutate, scale and encode run.
type GPU struct {
	// Mode is auto (use a GPU where one works, CPU otherwise, each stage
	// on its own), off (CPU only) or require (refuse to start without one).
	Mode string `yaml:"mode"`
}

// Mutations configures the per-frame mutation chains.
type Mutations struct {
	// AssetsDir is where watermark images named in chains are found.
	AssetsDir string `yaml:"assets_dir"`
	// Limits bound what a chain may ask for.
	Limits gpu.Limits `yaml:"limits"`
	// OverBudget is what happens to a chain that takes longer per frame
	// than the frame interval: refuse (422) or warn (accept it, with a
	// warning in the response).
	OverBudget string `yaml:"over_budget"`
	// Defaults give streams whose names match a pattern a chain at start
	// (the first match wins); a chain set through the API replaces it.
	Defaults []DefaultChain `yaml:"defaults"`
}

// DefaultChain is a chain for the streams whose names match Streams.
type DefaultChain struct {
	// Streams is a path.Match pattern of stream names, e.g. "cam*".
	Streams string `yaml:"streams"`
	// Chain is the list of ops, as in the API's JSON.
	Chain []map[string]any `yaml:"chain"`
}

// ParsedDefaults returns the default chains checked and decoded.
func (m Mutations) ParsedDefaults() ([][]gpu.Spec, error) {
	env := gpu.Env{Limits: m.Limits, AssetsDir: m.AssetsDir}
	out := make([][]gpu.Spec, 0, len(m.Defaults))
	for i, d := range m.Defaults {
		if _, err := path.Match(d.Streams, "x"); err != nil || d.Streams == "" {
			return nil, fmt.Errorf("mutations.defaults[%d].streams: %q is not a pattern", i, d.Streams)
		}
		b, err := json.Marshal(d.Chain)
		if err != nil {
			return nil, fmt.Errorf("mutations.defaults[%d].chain: %w", i, err)
		}
		specs, err := gpu.ParseChain(b, env)
		if err != nil {
			return nil, fmt.Errorf("mutations.defaults[%d].chain: %w", i, err)
		}
		out = append(out, specs)
	}
	return out, nil
}

// Ingest holds settings every ingest protocol shares.
type Ingest struct {
	// Grace is how long a stream whose publisher left waits for it (or one
	// with the right token) to come back with its viewers still attached.
	Grace time.Duration `yaml:"grace"`
}

// HTTP is the HTTP listener.
type HTTP struct {
	// Addr is the listen address (flag --http).
	Addr string `yaml:"addr"`
	// ReadHeaderTimeout bounds the time to read a request's headers.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds the time to read a whole request, body included:
	// a body trickled slower than this is cut off.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds the time to write a response. Server-sent
	// events (/api/v1/streams/NAME/events) live on: for them it bounds
	// each write, so only a client that stops reading is cut off.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes caps the size of a request's headers.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxBodyBytes caps the size of a request body (413 beyond).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxConns caps the open HTTP connections; more are closed at once
	// (counted in mediad_http_conns_refused_total). 0: no cap.
	MaxConns int `yaml:"max_conns"`
	// MaxConnsPerAddr caps the open HTTP connections from one client
	// address (IPv6 by /64); 0: no cap. Behind a reverse proxy every
	// connection comes from the proxy: set 0 there.
	MaxConnsPerAddr int `yaml:"max_conns_per_addr"`
	// TLS, when Cert and Key are set, serves HTTPS (pages, API, WHIP and
	// WHEP) instead of HTTP.
	TLS TLS `yaml:"tls"`
}

// TLS is a certificate and its key, PEM files, read at start and again on
// SIGHUP (a new pair that does not load keeps the old one, logged).
type TLS struct {
	// Cert is the certificate chain file (leaf first).
	Cert string `yaml:"cert"`
	// Key is the private key file.
	Key string `yaml:"key"`
}

// Enabled reports whether a certificate is configured.
func (t TLS) Enabled() bool { return t.Cert != "" || t.Key != "" }

// DefaultHTTP returns the HTTP listener's defaults.
func DefaultHTTP() HTTP {
	return HTTP{
		Addr:              ":8080",
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		MaxBodyBytes:      1 << 20,
		MaxConns:          4096,
		MaxConnsPerAddr:   256,
	}
}

func (h HTTP) validate() []error {
	var errs []error
	if h.Addr == "" {
		errs = append(errs, errors.New("http.addr: must not be empty"))
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_header_timeout", h.ReadHeaderTimeout}, {"read_timeout", h.ReadTimeout}, {"write_timeout", h.WriteTimeout}, {"idle_timeout", h.IdleTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("http.%s: must be > 0 (got %s)", d.key, d.v))
		}
	}
	if h.MaxHeaderBytes < 1024 {
		errs = append(errs, fmt.Errorf("http.max_header_bytes: must be >= 1024 (got %d)", h.MaxHeaderBytes))
	}
	if h.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("http.max_body_bytes: must be >= 1024 (got %d)", h.MaxBodyBytes))
	}
	if h.MaxConns < 0 {
		errs = append(errs, errors.New("http.max_conns: must be >= 0 (0: no cap)"))
	}
	if h.MaxConnsPerAddr < 0 {
		errs = append(errs, errors.New("http.max_conns_per_addr: must be >= 0 (0: no cap)"))
	}
	if (h.TLS.Cert == "") != (h.TLS.Key == "") {
		errs = append(errs, errors.New("http.tls: set both cert and key, or neither"))
	}
	return errs
}

// Demo is the built-in stream: a moving test pattern with a tone, made by
// FFmpeg's lavfi inside mediad and sent through the normal pipeline.
type Demo struct {
	// Enabled turns the demo stream on.
	Enabled bool `yaml:"enabled"`
	// Size and rate of the test pattern.
	transcode.DemoConfig `yaml:",inline"`
}

// Auth is who may publish.
type Auth struct {
	// PublishToken may publish any stream that has no token of its own.
	// Empty, with no per-stream tokens either, means mediad generates one at
	// start and prints it.
	PublishToken string `yaml:"publish_token"`
	// AdminToken is the bearer token that may change mutation chains.
	// Empty means mediad generates one at start and prints it.
	AdminToken string `yaml:"admin_token"`
	// Streams gives a stream name its own token, which then is the only one
	// that may publish it.
	Streams map[string]StreamAuth `yaml:"streams"`
}

// StreamAuth is one stream's publishing credential.
type StreamAuth struct {
	// Token is the stream's publish token.
	Token string `yaml:"token"`
}

// Log sets logging.
type Log struct {
	// Level is debug, info, warn or error (flag --log-level).
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// Default returns the configuration used when no file is given.
func Default() Config {
	return Config{
		HTTP:      DefaultHTTP(),
		Ingest:    Ingest{Grace: 5 * time.Second},
		RTMP:      rtmp.DefaultConfig(),
		WebRTC:    signaling.DefaultConfig(),
		Transcode: transcode.DefaultConfig(),
		Demo:      Demo{Enabled: true, DemoConfig: transcode.DefaultDemoConfig()},
		GPU:       GPU{Mode: "auto"},
		Mutations: Mutations{AssetsDir: "assets", Limits: gpu.DefaultLimits(), OverBudget: "refuse"},
		Log:       Log{Level: "info", Format: "text"},

		ShutdownTimeout: 10 * time.Second,
	}
}

// Load reads path over the defaults. Unknown keys are errors that name the
// key, its line and the file.
func Load(path string) (Config, error) {
	cfg := Default()
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	if err := decode(bytes.NewReader(b), &cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	// A relative assets_dir is the config file's neighbour, wherever
	// mediad runs from.
	if d := cfg.Mutations.AssetsDir; d != "" && !filepath.IsAbs(d) {
		cfg.Mutations.AssetsDir = filepath.Join(filepath.Dir(path), d)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Decode decodes YAML from r strictly into cfg, keeping cfg's values for
// absent keys, and validates the result.
func Decode(r io.Reader, cfg *Config) error {
	if err := decode(r, cfg); err != nil {
		return err
	}
	return cfg.Validate()
}

func decode(r io.Reader, cfg *Config) error {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

var streamName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate checks every section.
func (c Config) Validate() error {
	var errs []error
	if c.Ingest.Grace < 0 {
		errs = append(errs, errors.New("ingest.grace: must be >= 0"))
	}
	errs = append(errs, c.HTTP.validate()...)
	if c.ShutdownTimeout < 0 {
		errs = append(errs, errors.New("shutdown_timeout: must be >= 0"))
	}
	if err := c.WebRTC.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("webrtc: %w", err))
	}
	if err := c.Transcode.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("transcode: %w", err))
	}
	for name := range c.Auth.Streams {
		if !streamName.MatchString(name) {
			errs = append(errs, fmt.Errorf("auth.streams.%s: a stream name is 1-64 of A-Z a-z 0-9 _ -", name))
		}
	}
	switch c.GPU.Mode {
	case "auto", "off", "require":
	default:
		errs = append(errs, fmt.Errorf("gpu.mode: %q is not auto, off or require", c.GPU.Mode))
	}
	if c.Mutations.OverBudget != "refuse" && c.Mutations.OverBudget != "warn" {
		errs = append(errs, fmt.Errorf("mutations.over_budget: %q is not refuse or warn", c.Mutations.OverBudget))
	}
	if _, err := c.Mutations.ParsedDefaults(); err != nil {
		errs = append(errs, err)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q is not text or json", c.Log.Format))
	}
	return errors.Join(errs...)
}

// EnsureAdminToken generates an admin token when none is configured and
// reports whether it did.
func (a *Auth) EnsureAdminToken() bool {
	if a.AdminToken != "" {
		return false
	}
	a.AdminToken = randomToken()
	return true
}

// Admin reports whether token is the admin token, in constant time.
func (a Auth) Admin(token string) bool { return equal(a.AdminToken, token) }

func randomToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// EnsureToken generates a global publish token when none is configured and
// reports whether it did.
func (a *Auth) EnsureToken() bool {
	if a.PublishToken != "" || len(a.Streams) > 0 {
		return false
	}
	a.PublishToken = randomToken()
	return true
}

// Allow reports whether token may publish name: the stream's own token when
// it has one, else the global token. Comparisons take constant time.
func (a Auth) Allow(name, token string) bool {
	if s, ok := a.Streams[name]; ok {
		return equal(s.Token, token)
	}
	return a.PublishToken != "" && equal(a.PublishToken, token)
}

func equal(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
