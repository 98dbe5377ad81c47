package signaling

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/auth"
)

// TestBeforeOfferAfterLimitAndAuth: the before-offer hook sees only WHEP
// offers within the rate limit and authorized, once each, and its own
// answer ends the offer.
func TestBeforeOfferAfterLimitAndAuth(t *testing.T) {
	var calls atomic.Int32
	e := newAuthEnv(t, func(c *Config) {
		c.RateLimit = RateLimit{Viewers: Bucket{PerSecond: 0.01, Burst: 3}, Publishers: Bucket{PerSecond: 0.01, Burst: 3}}
	}, nil, func(s *Server) {
		cfg := auth.DefaultConfig()
		cfg.Play = auth.PlayToken
		cfg.JWT.Keys = []auth.JWTKey{{Alg: "HS256", Secret: jwtSecret}}
		a, err := auth.New(cfg, auth.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetAuthorizer(a); err != nil {
			t.Fatal(err)
		}
		s.SetBeforeOffer(func(w http.ResponseWriter, r *http.Request, name string) bool {
			calls.Add(1)
			if name != "remote" {
				t.Errorf("the hook saw stream %q", name)
			}
			http.Error(w, "directory away", http.StatusServiceUnavailable)
			return false
		})
	})
	offer := pionOffer(t, webrtc.RTPTransceiverDirectionRecvonly)
	token := signJWT(t, jwt.MapClaims{"streams": []string{"remote"}, "actions": []string{"play"}, "exp": time.Now().Add(time.Hour).Unix()})
	post := func(tok string) int {
		resp, _ := do(t, e.url, call{method: "POST", path: "/whep/remote", ctype: "application/sdp", body: offer, token: tok})
		return resp.StatusCode
	}
	if got := post(""); got != http.StatusUnauthorized || calls.Load() != 0 {
		t.Fatalf("an offer with no token: %d, hook called %d times; want 401 and none", got, calls.Load())
	}
	if got := post(token); got != http.StatusServiceUnavailable || calls.Load() != 1 {
		t.Fatalf("an authorized offer: %d, hook called %d times; want the hook's 503, once", got, calls.Load())
	}
	// The burst of 3 is spent (two above and this one): the rest are
	// refused before the hook.
	got := map[int]int{}
	for i := 0; i < 5; i++ {
		got[post(token)]++
	}
	if got[http.StatusTooManyRequests] < 4 || calls.Load() > 2 {
		t.Fatalf("offers past the rate limit: %v, hook called %d times; want 429 and the hook not called", got, calls.Load())
	}
}
