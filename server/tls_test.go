package server

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/internal/tlscert"
)

// servedName makes a new TLS connection to srv (no reuse) and returns the
// common name of the certificate it presents, after a request.
func servedName(t *testing.T, srv *Server, path string) (string, int) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		DisableKeepAlives: true,
	}}
	resp, err := client.Get("https://" + srv.HTTPAddr().String() + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.TLS.PeerCertificates[0].Subject.CommonName, resp.StatusCode
}

// TestHTTPSAndReload: with http.tls set, pages, API and WHEP are served
// over TLS; after ReloadTLS (SIGHUP) a new handshake sees the new
// certificate, and a broken one keeps the old.
func TestHTTPSAndReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if _, err := tlscert.WriteSelfSigned(certFile, keyFile, "first"); err != nil {
		t.Fatal(err)
	}
	srv := startWith(t, func(c *config.Config) { c.HTTP.TLS = config.TLS{Cert: certFile, Key: keyFile} })
	if srv.GetCertificate() == nil {
		t.Fatal("no GetCertificate to share with RTMPS")
	}
	for _, path := range []string{"/", "/healthz", "/api/v1/streams"} {
		if cn, code := servedName(t, srv, path); cn != "first" || code != http.StatusOK {
			t.Fatalf("GET %s: certificate %q, status %d", path, cn, code)
		}
	}
	// WHEP over HTTPS reaches its handler (a bad offer: 4xx, not a TLS error).
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Post("https://"+srv.HTTPAddr().String()+"/whep/cam", "application/sdp", strings.NewReader("v=0\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Fatalf("WHEP POST over TLS: %d", resp.StatusCode)
	}
	// Plain HTTP on the TLS port is not served.
	if resp, err := http.Get("http://" + srv.HTTPAddr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP served on the TLS port")
		}
	}

	if _, err := tlscert.WriteSelfSigned(certFile, keyFile, "second"); err != nil {
		t.Fatal(err)
	}
	if err := srv.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if cn, _ := servedName(t, srv, "/healthz"); cn != "second" {
		t.Fatalf("after reload: certificate %q, want second", cn)
	}
	if err := os.WriteFile(certFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.ReloadTLS(); err == nil {
		t.Fatal("reload of a broken certificate did not fail")
	}
	if cn, _ := servedName(t, srv, "/healthz"); cn != "second" {
		t.Fatalf("after a failed reload: certificate %q, want second", cn)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	cfg := config.Default()
	cfg.HTTP.TLS.Cert = "/x.pem"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "http.tls") {
		t.Fatalf("cert without key: %v", err)
	}
	cfg.HTTP.TLS.Key = "/nonexistent-key.pem"
	cfg.HTTP.Addr = "127.0.0.1:0"
	if _, err := New(cfg, slog.Default()); err == nil || !strings.Contains(err.Error(), "http.tls.cert") {
		t.Fatalf("missing files: %v", err)
	}
}
