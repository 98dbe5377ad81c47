package server

import (
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/internal/tlscert"
)

// TestBrowserOverHTTPS: Chromium, trusting a certificate made now by its
// public key, publishes its camera with WHIP from a page served over HTTPS
// under a name that is not localhost (where a camera needs a secure
// context), and plays it with WHEP over HTTPS.
func TestBrowserOverHTTPS(t *testing.T) {
	e2e.ChromiumPath(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	const host = "mediad.test"
	spki, err := tlscert.WriteSelfSigned(certFile, keyFile, host, host)
	if err != nil {
		t.Fatal(err)
	}
	srv := startWith(t, func(c *config.Config) { c.HTTP.TLS = config.TLS{Cert: certFile, Key: keyFile} })
	browser := e2e.NewBrowser(t,
		chromedp.Flag("ignore-certificate-errors-spki-list", spki),
		chromedp.Flag("host-resolver-rules", "MAP "+host+" 127.0.0.1"),
	)
	base := fmt.Sprintf("https://%s:%d", host, srv.HTTPAddr().(*net.TCPAddr).Port)

	pub := browser.Open(t, base+"/publish/cam?source=camera&autostart=1&width=320&height=180&token="+testToken)
	var secure bool
	if err := pub.Eval("window.isSecureContext && location.protocol === 'https:'", &secure); err != nil || !secure {
		t.Fatalf("publish page is not a secure https context (%v)", err)
	}
	waitFor(t, 60*time.Second, "the browser's WHIP stream live", func() bool {
		st, err := srv.Hub().Lookup("cam")
		return err == nil && st.Live()
	})

	viewer := browser.Open(t, base+"/watch/cam")
	if _, err := viewer.WaitStats(60*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > 15 }); err != nil {
		t.Fatalf("WHEP over HTTPS: %v", err)
	}
}
