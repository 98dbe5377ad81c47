package web

import (
	"fmt"

	"github.com/gin-gonic/gin"
)

// ContentSecurityPolicy is sent with every response. The pages load only
// their own scripts and style sheet (no inline script or style), talk only
// to their own origin (fetch, EventSource; WebRTC media is not governed by
// CSP), show video from MediaStreams, and may not be framed anywhere.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers every page and API answer carries: no
// framing (clickjacking of the operator panel), no MIME sniffing, no
// Referer (a viewer token in a page URL never leaves in one).
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	c.Next()
}

// trustProxies makes c.ClientIP() the socket's address unless the socket
// is one of the trusted proxies (IP addresses or CIDRs); only then does
// X-Forwarded-For count, read from the right and skipping trusted hops.
// None trusted (nil or empty) is the default: a header never changes the
// client address, so it cannot dodge a per-address limit.
func trustProxies(r *gin.Engine, proxies []string) error {
	r.ForwardedByClientIP = true
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
	r.TrustedPlatform = ""
	if len(proxies) == 0 {
		proxies = nil
	}
	if err := r.SetTrustedProxies(proxies); err != nil {
		return fmt.Errorf("http.trusted_proxies: %w (want IP addresses or CIDRs such as 10.0.0.0/8)", err)
	}
	return nil
}
