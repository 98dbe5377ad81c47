package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mutstream/mutstream/auth"
	"github.com/mutstream/mutstream/config"
)

// TestAPIAuthWiring checks what the server hands the router: with play
// needing a token, the API answers 401 without one and 200 with the viewer
// token or a JWT that grants play on every stream (a JWT for one stream
// does not list them all); /metrics takes its own token only.
func TestAPIAuthWiring(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	srv := startWith(t, func(cfg *config.Config) {
		cfg.WebRTC.ViewerToken = testViewer
		cfg.Auth.Play = auth.PlayToken
		cfg.Auth.JWT.Keys = []auth.JWTKey{{Alg: "HS256", Secret: secret}}
		cfg.HTTP.MetricsToken = "m3trics-t0ken"
	})
	sign := func(streams ...string) string {
		c := auth.Claims{Streams: streams, Actions: []string{"play"}}
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	status := func(path, token string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.url(path), nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"/api/v1/streams", "", 401},
		{"/api/v1/streams", "wrong", 401},
		{"/api/v1/streams", testViewer, 200},
		{"/api/v1/streams", sign("*"), 200},
		{"/api/v1/streams", sign("cam"), 401},
		{"/api/v1/streams/cam", sign("cam"), 404}, // allowed, not live
		{"/api/v1/streams/other", sign("cam"), 401},
		{"/api/v1/streams?token=" + testViewer, "", 200},
		{"/metrics", "", 401},
		{"/metrics", testViewer, 401},
		{"/metrics", "m3trics-t0ken", 200},
		{"/healthz", "", 200},
		{"/watch/cam", "", 200},
	} {
		if got := status(c.path, c.token); got != c.want {
			t.Errorf("GET %s with token %.8q: %d, want %d", c.path, c.token, got, c.want)
		}
	}
}
