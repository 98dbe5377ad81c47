package rtmp

import (
	"fmt"
	"strings"
	"time"
)

// Config is the RTMP ingest server's configuration.
type Config struct {
	// Addr is the TCP address to listen on, ":1935" by default. ":0" picks a
	// free port (see Server.Addr).
	Addr string `yaml:"addr"`
	// TLSAddr is the TCP address of the RTMPS listener (RTMP over TLS,
	// rtmps://host:PORT/APP/NAME), e.g. ":1936". Empty (the default) serves
	// no RTMPS. It needs a certificate, given by the server (WithCertificate).
	TLSAddr string `yaml:"tls_addr"`
	// App is the application name publishers put in the URL path, before the
	// stream name: rtmp://host/APP/NAME. Default "live".
	App string `yaml:"app"`
	// AuthTimeout bounds what a peer does before its token is checked: the
	// TLS and RTMP handshakes and the connect and publish commands. A peer
	// that has not sent a publish command by then is closed. Default 3s.
	AuthTimeout time.Duration `yaml:"auth_timeout"`
	// HandshakeTimeout bounds the whole set-up, from accept until the publish
	// is accepted (AuthTimeout bounds the part before the token check).
	// Default 10s.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	// ReadTimeout ends a session that sends nothing for this long. Default 10s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// MaxConns is the most connections served at once (RTMP and RTMPS
	// together); more are closed as soon as they are accepted. Default 100.
	MaxConns int `yaml:"max_conns"`
	// MaxConnsPerAddr is the most connections served at once from one
	// client address (IPv6 addresses count by /64). Default 10.
	MaxConnsPerAddr int `yaml:"max_conns_per_addr"`
	// MaxMessageSize is the largest RTMP message a publisher may send, in
	// bytes (a keyframe is one message). A larger one ends the connection.
	// Default 8 MiB (8388608).
	MaxMessageSize int `yaml:"max_message_size"`
	// MaxChunkSize is the largest chunk size a publisher may set, in bytes.
	// Encoders use 128 to 65536. A larger one ends the connection.
	// Default 1 MiB (1048576).
	MaxChunkSize int `yaml:"max_chunk_size"`
}

// DefaultConfig returns the configuration used for any field left zero.
func DefaultConfig() Config {
	return Config{
		Addr:             ":1935",
		App:              "live",
		AuthTimeout:      3 * time.Second,
		HandshakeTimeout: 10 * time.Second,
		ReadTimeout:      10 * time.Second,
		MaxConns:         100,
		MaxConnsPerAddr:  10,
		MaxMessageSize:   8 << 20,
		MaxChunkSize:     1 << 20,
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
	if c.AuthTimeout <= 0 {
		c.AuthTimeout = d.AuthTimeout
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
	if c.MaxConnsPerAddr <= 0 {
		c.MaxConnsPerAddr = d.MaxConnsPerAddr
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = d.MaxMessageSize
	}
	if c.MaxChunkSize <= 0 {
		c.MaxChunkSize = d.MaxChunkSize
	}
	return c
}

// Validate reports the first field out of range, naming its key.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.MaxMessageSize > libMaxBody:
		return fmt.Errorf("rtmp.max_message_size: %d is over the RTMP library's limit of %d bytes", c.MaxMessageSize, libMaxBody)
	case c.MaxChunkSize > c.MaxMessageSize:
		return fmt.Errorf("rtmp.max_chunk_size: %d is over rtmp.max_message_size (%d)", c.MaxChunkSize, c.MaxMessageSize)
	case c.MaxChunkSize < 128:
		return fmt.Errorf("rtmp.max_chunk_size: %d is under RTMP's default chunk size of 128 bytes", c.MaxChunkSize)
	case c.TLSAddr != "" && c.TLSAddr == c.Addr && !strings.HasSuffix(c.Addr, ":0"):
		return fmt.Errorf("rtmp.tls_addr: %q is also rtmp.addr", c.TLSAddr)
	}
	return nil
}
