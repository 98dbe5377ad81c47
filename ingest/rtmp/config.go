package rtmp

import "time"

// Config is the RTMP ingest server's configuration.
type Config struct {
	// Addr is the TCP address to listen on, ":1935" by default. ":0" picks a
	// free port (see Server.Addr).
	Addr string `yaml:"addr"`
	// App is the application name publishers put in the URL path, before the
	// stream name: rtmp://host/APP/NAME. Default "live".
	App string `yaml:"app"`
	// HandshakeTimeout bounds the RTMP handshake and the connect and publish
	// commands that follow it. Default 10s.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	// ReadTimeout ends a session that sends nothing for this long. Default 10s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// MaxConns is the most connections served at once; more are closed as
	// soon as they are accepted. Default 100.
	MaxConns int `yaml:"max_conns"`
}

// DefaultConfig returns the configuration used for any field left zero.
func DefaultConfig() Config {
	return Config{
		Addr:             ":1935",
		App:              "live",
		HandshakeTimeout: 10 * time.Second,
		ReadTimeout:      10 * time.Second,
		MaxConns:         100,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if c.App == "" {
		c.App = d.App
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = d.HandshakeTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.MaxConns <= 0 {
		c.MaxConns = d.MaxConns
	}
	return c
}
