package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mutstream/mutstream/config"
)

// TestRateLimitIgnoresForwardedFor is the regression test for the WHEP rate
// limit bypass: 40 POSTs, each with its own X-Forwarded-For, from one
// address that is no trusted proxy, are limited as one client (burst 10
// here), not as 40.
func TestRateLimitIgnoresForwardedFor(t *testing.T) {
	srv := startWith(t, func(cfg *config.Config) {
		cfg.WebRTC.RateLimit.PerSecond = 1
		cfg.WebRTC.RateLimit.Burst = 10
	})
	limited := 0
	for i := range 40 {
		req, _ := http.NewRequest(http.MethodPost, srv.url("/whep/nothing"), strings.NewReader("v=0\r\n"))
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
		}
	}
	// 10 in the burst, and at most a few more refilled while the test runs.
	if limited < 20 {
		t.Fatalf("%d of 40 POSTs with distinct X-Forwarded-For were limited; want at least 20 (one client)", limited)
	}
}
