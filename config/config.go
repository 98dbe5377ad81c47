// Package config is mediad's configuration: one YAML file whose root is made
// of each package's own config struct, every key with a default.
package config

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

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
	// Demo is the built-in test stream named "demo".
	Demo Demo `yaml:"demo"`
	// Auth holds publish tokens.
	Auth Auth `yaml:"auth"`
	// Log sets logging.
	Log Log `yaml:"log"`
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
		HTTP:      HTTP{Addr: ":8080"},
		Ingest:    Ingest{Grace: 5 * time.Second},
		RTMP:      rtmp.DefaultConfig(),
		WebRTC:    signaling.DefaultConfig(),
		Transcode: transcode.DefaultConfig(),
		Demo:      Demo{Enabled: true, DemoConfig: transcode.DefaultDemoConfig()},
		Log:       Log{Level: "info", Format: "text"},
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
	if err := Decode(bytes.NewReader(b), &cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Decode decodes YAML from r strictly into cfg, keeping cfg's values for
// absent keys, and validates the result.
func Decode(r io.Reader, cfg *Config) error {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return cfg.Validate()
}

var streamName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate checks every section.
func (c Config) Validate() error {
	var errs []error
	if c.Ingest.Grace < 0 {
		errs = append(errs, errors.New("ingest.grace: must be >= 0"))
	}
	if c.HTTP.Addr == "" {
		errs = append(errs, errors.New("http.addr: must not be empty"))
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

// EnsureToken generates a global publish token when none is configured and
// reports whether it did.
func (a *Auth) EnsureToken() bool {
	if a.PublishToken != "" || len(a.Streams) > 0 {
		return false
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	a.PublishToken = hex.EncodeToString(b[:])
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
