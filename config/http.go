package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// HTTP is the HTTP listener.
type HTTP struct {
	// Addr is the listen address (flag --http).
	Addr string `yaml:"addr"`
	// TrustedProxies are reverse proxies (IP addresses or CIDRs) whose
	// X-Forwarded-For header names the client. Empty trusts none: the client
	// address (rate limits, logs) is always the socket's.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// MetricsToken, when set, is the bearer token GET /metrics needs (for
	// Prometheus: authorization: {credentials: ...}). Empty leaves /metrics
	// open.
	MetricsToken string `yaml:"metrics_token"`
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
	return append(errs, h.validateProxies()...)
}

// validateProxies checks http.trusted_proxies: each entry an IP address or
// a CIDR.
func (h HTTP) validateProxies() []error {
	var errs []error
	for i, p := range h.TrustedProxies {
		p = strings.TrimSpace(p)
		if _, _, err := net.ParseCIDR(p); err == nil {
			continue
		}
		if net.ParseIP(p) != nil {
			continue
		}
		errs = append(errs, fmt.Errorf("http.trusted_proxies[%d]: %q is not an IP address or CIDR (such as 10.0.0.0/8)", i, p))
	}
	return errs
}
