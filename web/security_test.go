package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/mutstream/mutstream/stream"
)

// ipMounter adds GET /test/ip, which answers c.ClientIP(), and GET
// /test/panic, which panics.
type ipMounter struct{}

func (ipMounter) Mount(r gin.IRouter) {
	r.GET("/test/ip", func(c *gin.Context) { c.String(http.StatusOK, c.ClientIP()) })
	r.GET("/test/panic", func(*gin.Context) { panic("boom") })
}

// serve runs one request through h from the socket address remote.
func serve(h http.Handler, method, target, remote string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = remote
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestTrustedProxies checks that X-Forwarded-For counts only from a trusted
// proxy: by default (none trusted) every request is keyed by its socket
// address whatever the header says, so distinct header values cannot
// dodge a per-address limit; from a trusted proxy the rightmost untrusted
// hop is the client (a client-forged left part is ignored).
func TestTrustedProxies(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	open, err := NewRouter(stream.NewHub(nil, nil), log, Options{}, ipMounter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, xff := range []string{"198.51.100.1", "198.51.100.2", "2001:db8::1", "10.0.0.1, 198.51.100.3"} {
		w := serve(open, "GET", "/test/ip", "203.0.113.7:40000", http.Header{"X-Forwarded-For": {xff}, "X-Real-Ip": {"198.51.100.9"}})
		seen[w.Body.String()] = true
	}
	if len(seen) != 1 || !seen["203.0.113.7"] {
		t.Errorf("with no trusted proxy, client addresses %v; want only the socket's 203.0.113.7", seen)
	}
	if !strings.Contains(logs.String(), "remote=203.0.113.7") || strings.Contains(logs.String(), "198.51.100") {
		t.Errorf("the access log names a forwarded address from an untrusted peer:\n%s", logs.String())
	}

	trusted, err := NewRouter(stream.NewHub(nil, nil), nil, Options{TrustedProxies: []string{"10.0.0.0/8", "192.0.2.1"}}, ipMounter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ remote, xff, want string }{
		{"10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},
		{"192.0.2.1:5000", "198.51.100.1", "198.51.100.1"},
		{"10.1.2.3:5000", "1.2.3.4, 198.51.100.1", "198.51.100.1"},  // forged left part ignored
		{"10.1.2.3:5000", "198.51.100.1, 10.9.9.9", "198.51.100.1"}, // a second trusted hop skipped
		{"203.0.113.7:5000", "198.51.100.1", "203.0.113.7"},         // untrusted peer
		{"[2001:db8::5]:5000", "198.51.100.1", "2001:db8::5"},       // untrusted IPv6 peer
		{"10.1.2.3:5000", "", "10.1.2.3"},                           // no header: the proxy itself
		{"10.1.2.3:5000", "not-an-address", "10.1.2.3"},             // garbage: the socket
	} {
		h := http.Header{}
		if tc.xff != "" {
			h.Set("X-Forwarded-For", tc.xff)
		}
		if got := serve(trusted, "GET", "/test/ip", tc.remote, h).Body.String(); got != tc.want {
			t.Errorf("from %s with X-Forwarded-For %q: client %q, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}

	if _, err := NewRouter(stream.NewHub(nil, nil), nil, Options{TrustedProxies: []string{"10.0.0.0/99"}}); err == nil || !strings.Contains(err.Error(), "http.trusted_proxies") {
		t.Errorf("a bad trusted proxy: %v, want an error naming http.trusted_proxies", err)
	}
}

// TestSecurityHeaders checks that pages, assets, API answers (good and
// refused), mounted routes and 404s all forbid framing and sniffing and
// send no Referer.
func TestSecurityHeaders(t *testing.T) {
	h, err := NewRouter(stream.NewHub(nil, nil), nil, Options{MetricsToken: "m"}, ipMounter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/watch/cam", "/publish/cam", "/dashboard", "/assets/watch.js",
		"/api/v1/streams", "/api/v1/streams/nope", "/healthz", "/metrics", "/test/ip", "/no/such/page"} {
		w := serve(h, "GET", path, "127.0.0.1:1", nil)
		for k, want := range map[string]string{
			"X-Frame-Options":        "DENY",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
		} {
			if got := w.Header().Get(k); got != want {
				t.Errorf("GET %s (%d): %s %q, want %q", path, w.Code, k, got, want)
			}
		}
		csp := w.Header().Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "default-src 'self'", "script-src 'self'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: Content-Security-Policy %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: Content-Security-Policy %q allows inline code", path, csp)
		}
	}
}

// TestLogsMaskSecrets checks that a token in a query string reaches neither
// the access log nor the log of a panicking handler.
func TestLogsMaskSecrets(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := NewRouter(stream.NewHub(nil, nil), log, Options{}, ipMounter{})
	if err != nil {
		t.Fatal(err)
	}
	serve(h, "GET", "/api/v1/streams/cam/events?token=s3cr3t-viewer&x=1", "127.0.0.1:1", nil)
	serve(h, "GET", "/test/ip?rung=360p&access_token=s3cr3t-access", "127.0.0.1:1", nil)
	if w := serve(h, "GET", "/test/panic?Token=s3cr3t-panic", "127.0.0.1:1", nil); w.Code != http.StatusInternalServerError {
		t.Errorf("a panicking handler answered %d, want 500", w.Code)
	}
	out := logs.String()
	if strings.Contains(out, "s3cr3t") {
		t.Errorf("a token reached the log:\n%s", out)
	}
	for _, want := range []string{"token=***&x=1", "rung=360p&access_token=***", "Token=***", "http handler panicked"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}

func TestMaskQuery(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"rung=360p", "rung=360p"},
		{"token=abc", "token=***"},
		{"TOKEN=abc&rung=auto", "TOKEN=***&rung=auto"},
		{"a=1&token=abc&token=def", "a=1&token=***&token=***"},
		{"access_token=abc", "access_token=***"},
		{"%74oken=abc", "%74oken=***"}, // "token", escaped
		{"password=x&api_key=y&sig=z", "password=***&api_key=***&sig=***"},
		{"%zz=abc", "***"}, // undecodable key: masked whole
		{"token", "token"}, // no value, nothing to hide
		{"measure=1&operator=1", "measure=1&operator=1"},
	} {
		if got := maskQuery(tc.in); got != tc.want {
			t.Errorf("maskQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
