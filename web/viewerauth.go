package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mutstream/mutstream/metrics"
)

// ErrNoToken is what StaticPlayAuth answers for a request without a token.
var ErrNoToken = errors.New("a viewer token is needed")

// ErrBadToken is what StaticPlayAuth answers for a wrong token.
var ErrBadToken = errors.New("the viewer token is not valid")

// BearerToken returns the token of an "Authorization: Bearer" header, or ""
// when there is none.
func BearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// StaticPlayAuth is a PlayAuth that lets through requests bearing token
// (compared in constant time), for every stream. An empty token returns
// nil: no play check.
func StaticPlayAuth(token string) func(r *http.Request, stream string) error {
	if token == "" {
		return nil
	}
	return func(r *http.Request, _ string) error {
		got := BearerToken(r)
		switch {
		case got == "":
			return ErrNoToken
		case !tokenEqual(token, got):
			return ErrBadToken
		}
		return nil
	}
}

// tokenEqual compares a secret in constant time (for a given length).
func tokenEqual(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// withQueryToken returns r with "Authorization: Bearer T" when r has no
// Authorization header and a token=T query parameter (EventSource cannot
// set headers), so a play check reads one place only.
func withQueryToken(r *http.Request) *http.Request {
	if r.Header.Get("Authorization") != "" {
		return r
	}
	tok := r.URL.Query().Get("token")
	if tok == "" {
		return r
	}
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+tok)
	return r2
}

// viewer guards a read of stream state with Options.PlayAuth: the stream is
// the :name parameter ("" on the list endpoints). The admin token is let
// through too: who may change a chain may read it. Without a PlayAuth
// everything is let through.
func (a *api) viewer(c *gin.Context) {
	check := a.opts.PlayAuth
	if check == nil {
		return
	}
	r := withQueryToken(c.Request)
	if tokenEqual(a.opts.AdminToken, BearerToken(r)) {
		return
	}
	err := check(r, c.Param("name"))
	if err == nil {
		return
	}
	metrics.HTTPRejected.WithLabelValues("api", "401").Inc()
	challenge := `Bearer realm="mediad"`
	if BearerToken(r) != "" {
		challenge += `, error="invalid_token"`
	}
	c.Header("WWW-Authenticate", challenge)
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{
		"error": "watching needs a viewer token (Authorization: Bearer, or ?token= for event streams): " + err.Error(),
	})
}

// metricsAuth guards /metrics with its own bearer token when one is set.
func metricsAuth(token string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if token == "" || tokenEqual(token, BearerToken(c.Request)) {
			return
		}
		metrics.HTTPRejected.WithLabelValues("metrics", "401").Inc()
		c.Header("WWW-Authenticate", `Bearer realm="mediad metrics"`)
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "/metrics needs its bearer token (http.metrics_token)"})
	}
}
