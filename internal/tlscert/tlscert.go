// Package tlscert holds a TLS certificate read from PEM files that can be
// read again while servers use it (on SIGHUP), so a renewed certificate
// takes effect without a restart or a dropped connection.
package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Cert is a certificate and key pair loaded from files. GetCertificate
// gives the pair in force to every new TLS handshake; Reload swaps it.
type Cert struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// Load reads the pair once; an error names the file to fix.
func Load(certFile, keyFile string) (*Cert, error) {
	c := &Cert{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again. When the new pair does not load, the pair
// in force stays and the error says why.
func (c *Cert) Reload() error {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s with key %s: %w (set http.tls.cert and http.tls.key)", c.certFile, c.keyFile, err)
	}
	if pair.Leaf == nil {
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return fmt.Errorf("parse TLS certificate %s: %w", c.certFile, err)
		}
		pair.Leaf = leaf
	}
	c.cur.Store(&pair)
	return nil
}

// GetCertificate is a tls.Config.GetCertificate: the pair in force now.
func (c *Cert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	p := c.cur.Load()
	if p == nil {
		return nil, errors.New("no TLS certificate loaded")
	}
	return p, nil
}

// Leaf returns the certificate in force (for logs: subject, expiry).
func (c *Cert) Leaf() *x509.Certificate { return c.cur.Load().Leaf }

// Expired reports whether the certificate in force is outside its validity
// period at t.
func (c *Cert) Expired(t time.Time) bool {
	l := c.Leaf()
	return t.Before(l.NotBefore) || t.After(l.NotAfter)
}

// Config returns a server TLS config that uses c: TLS 1.2 or later.
func (c *Cert) Config() *tls.Config {
	return &tls.Config{GetCertificate: c.GetCertificate, MinVersion: tls.VersionTLS12}
}
