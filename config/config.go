// Package config is mediad's configuration: one YAML file whose root is made
// of each package's own config struct, every key with a default.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mutstream/mutstream/auth"
	"github.com/mutstream/mutstream/cluster"
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
	// Auth says who may publish and play.
	Auth Auth `yaml:"auth"`
	// Log sets logging.
	Log Log `yaml:"log"`
	// StateDir is where mediad keeps what it must remember across restarts:
	// the mutation chains set through the API (mutations.json). A relative
	// path is next to the config file (without one, the working
	// directory); "" keeps nothing (chains live in memory only).
	StateDir string `yaml:"state_dir"`
	// ShutdownTimeout is how long mediad, on SIGTERM or SIGINT, drains:
	// new sessions get 503, viewers and publishers are told the streams
	// end, and it waits up to this long for them to leave before it
	// closes what is left. A second signal ends at once.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Cluster makes this node one of a cluster over Redis (see
	// cluster.Config); absent, mediad is a single node.
	Cluster *cluster.Config `yaml:"cluster"`
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
	// OnError is what is encoded in place of a frame the chain cannot run
	// on or fails on (the frame itself never is): hold (the last frame the
	// chain mutated, or black when there is none yet) or black. Each such
	// frame counts in mediad_mutation_failures_total.
	OnError string `yaml:"on_error"`
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

// Demo is the built-in stream: a moving test pattern with a tone, made by
// FFmpeg's lavfi inside mediad and sent through the normal pipeline.
type Demo struct {
	// Enabled turns the demo stream on.
	Enabled bool `yaml:"enabled"`
	// Size and rate of the test pattern.
	transcode.DemoConfig `yaml:",inline"`
}

// Auth is who may publish and play: static tokens, JWT keys, the webhook
// and the cap on streams per token (see package auth).
type Auth = auth.Config

// StreamAuth is one stream's publishing credential.
type StreamAuth = auth.StreamAuth

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
		Mutations: Mutations{AssetsDir: "assets", Limits: gpu.DefaultLimits(), OverBudget: "refuse", OnError: transcode.OnErrorHold},
		Log:       Log{Level: "info", Format: "text"},
		StateDir:  "state",
		Auth:      auth.DefaultConfig(),

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
	// So is a relative state_dir.
	if d := cfg.StateDir; d != "" && !filepath.IsAbs(d) {
		cfg.StateDir = filepath.Join(filepath.Dir(path), d)
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
	if err := c.RTMP.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.WebRTC.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("webrtc: %w", err))
	}
	if err := c.Transcode.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("transcode: %w", err))
	}
	if c.Cluster != nil {
		if err := c.Cluster.Validate(); err != nil {
			return err
		}
	}
	if err := c.Auth.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Auth.Play == auth.PlayToken && c.WebRTC.ViewerToken == "" && len(c.Auth.JWT.Keys) == 0 {
		errs = append(errs, errors.New("auth.play: token needs webrtc.viewer_token or auth.jwt.keys, or nobody could watch"))
	}
	switch c.GPU.Mode {
	case "auto", "off", "require":
	default:
		errs = append(errs, fmt.Errorf("gpu.mode: %q is not auto, off or require", c.GPU.Mode))
	}
	if c.Mutations.OverBudget != "refuse" && c.Mutations.OverBudget != "warn" {
		errs = append(errs, fmt.Errorf("mutations.over_budget: %q is not refuse or warn", c.Mutations.OverBudget))
	}
	if c.Mutations.OnError != transcode.OnErrorHold && c.Mutations.OnError != transcode.OnErrorBlack {
		errs = append(errs, fmt.Errorf("mutations.on_error: %q is not hold or black", c.Mutations.OnError))
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

// NewAuthorizer builds the authorizer WHIP, WHEP and RTMP share, from the
// auth section and webrtc.viewer_token.
func (c Config) NewAuthorizer(log *slog.Logger) (*auth.Authorizer, error) {
	opt := auth.Options{ViewerToken: c.WebRTC.ViewerToken, Log: log}
	if c.Cluster != nil {
		opt.ClusterToken = c.Cluster.Token // other nodes pull with it
	}
	return auth.New(c.Auth, opt)
}
