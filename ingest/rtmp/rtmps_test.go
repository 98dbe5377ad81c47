package rtmp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testCertificate makes a self-signed certificate for 127.0.0.1.
func testCertificate(t *testing.T) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mediad test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestRTMPSPublish: ffmpeg publishes over RTMPS to the TLS listener with a
// certificate handed in by the server, and the stream goes live; plain RTMP
// on the TLS port is refused.
func TestRTMPSPublish(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	cert := testCertificate(t)
	var hellos atomic.Int32
	get := func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		hellos.Add(1)
		return cert, nil
	}
	e := newEnvOpts(t, Config{TLSAddr: "127.0.0.1:0"}, WithCertificate(get))
	tlsAddr := e.srv.TLSAddr().String()

	// ffmpeg does not verify the certificate by default (tls_verify 0).
	p := startFFmpeg(t, "rtmps://"+tlsAddr+"/live/secure?token="+goodToken, pubOpts{secs: 4, video: true, audio: "aac"})
	waitFor(t, 20*time.Second, "packets over RTMPS", func() bool {
		recs := e.recorders("secure")
		return len(recs) == 1 && recs[0].count() > 30
	})
	if hellos.Load() == 0 {
		t.Error("the certificate callback was never asked")
	}
	if out, err := p.wait(t, 30*time.Second); err != nil {
		t.Errorf("ffmpeg over RTMPS: %v\n%s", err, out)
	}

	plain := startFFmpeg(t, "rtmp://"+tlsAddr+"/live/plain?token="+goodToken, pubOpts{secs: 2, video: true})
	if out, err := plain.wait(t, 30*time.Second); err == nil {
		t.Errorf("plain RTMP on the RTMPS port succeeded:\n%s", out)
	}
	if n := len(e.recorders("plain")); n != 0 {
		t.Errorf("%d publications over plain RTMP on the RTMPS port", n)
	}
}

// TestRTMPSNeedsCertificate: a TLS address without a certificate is a
// start error naming the key.
func TestRTMPSNeedsCertificate(t *testing.T) {
	srv := NewServer(Config{Addr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0"}, nil, nil, nil)
	err := srv.Start()
	if err == nil {
		srv.Close()
		t.Fatal("started RTMPS without a certificate")
	}
	if !strings.Contains(err.Error(), "rtmp.tls_addr") {
		t.Errorf("error %q does not name rtmp.tls_addr", err)
	}
}
