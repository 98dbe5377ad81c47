package cluster

import (
	"net/http"
	"testing"
	"time"

	"github.com/mutstream/mutstream/whepclient"
)

// TestRetryDelay: a 429 or 503 is pulled again after its Retry-After
// (at least pullRetry, at most maxRetryAfter); another refusal after the
// pipeline's own delay.
func TestRetryDelay(t *testing.T) {
	for _, c := range []struct {
		status int
		after  time.Duration
		want   time.Duration
	}{
		{http.StatusServiceUnavailable, 3 * time.Second, 3 * time.Second},
		{http.StatusTooManyRequests, 2 * time.Second, 2 * time.Second},
		{http.StatusServiceUnavailable, 0, pullRetry},
		{http.StatusTooManyRequests, time.Hour, maxRetryAfter},
		{http.StatusBadRequest, 5 * time.Second, 0},
		{http.StatusForbidden, 0, 0},
	} {
		if got := retryDelay(&whepclient.RefusedError{Status: c.status, RetryAfter: c.after}); got != c.want {
			t.Errorf("%d with Retry-After %v: wait %v, want %v", c.status, c.after, got, c.want)
		}
	}
}
