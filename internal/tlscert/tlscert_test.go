package tlscert

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// handshake dials addr and returns the common name of the certificate the
// server presents.
func handshake(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func TestReloadSwapsAndKeepsOnError(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if _, err := WriteSelfSigned(certFile, keyFile, "first"); err != nil {
		t.Fatal(err)
	}
	c, err := Load(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", c.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func(conn net.Conn) {
				_ = conn.(*tls.Conn).Handshake()
				_ = conn.Close()
			}(conn)
		}
	}()
	if cn := handshake(t, ln.Addr().String()); cn != "first" {
		t.Fatalf("served %q, want first", cn)
	}

	if _, err := WriteSelfSigned(certFile, keyFile, "second"); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if cn := handshake(t, ln.Addr().String()); cn != "second" {
		t.Fatalf("after reload served %q, want second", cn)
	}

	// A broken key: the reload fails and the second pair stays in force.
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(); err == nil {
		t.Fatal("reload of a broken key did not fail")
	}
	if cn := handshake(t, ln.Addr().String()); cn != "second" {
		t.Fatalf("after a failed reload served %q, want second", cn)
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	_, err := Load("/nonexistent/cert.pem", "/nonexistent/key.pem")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/cert.pem") || !strings.Contains(err.Error(), "http.tls.cert") {
		t.Fatalf("error %v does not name the file and key", err)
	}
}
