package server

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/internal/firefox"
	"github.com/mutstream/mutstream/metrics"
)

// stunRefusals are the reasons a request from a direct viewer would go to
// pion because mediad could not verify or handle it.
var stunRefusals = []string{"malformed", "username", "fingerprint", "integrity", "role", "attribute"}

// stunToPion is every reason's count of STUN left to pion.
func stunToPion() map[string]float64 {
	out := map[string]float64{}
	for _, r := range []string{"no_route", "address", "malformed", "response", "not_request", "username", "fingerprint", "integrity", "role", "attribute", "refresh", "write"} {
		out[r] = testutil.ToFloat64(metrics.ViewerSTUNToPion.WithLabelValues(r))
	}
	return out
}

func stunRefused() float64 {
	n := 0.0
	for _, r := range stunRefusals {
		n += testutil.ToFloat64(metrics.ViewerSTUNToPion.WithLabelValues(r))
	}
	return n
}

// TestBrowsersSTUNAnsweredByPort: the STUN checks of a real browser on
// the pair that mediad's agent selected, Chromium's (with USE-CANDIDATE
// and attributes of its own) and Firefox's (RFC 7675 consent checks,
// about every 5 s), verify and are answered by mediad's port; none is
// refused, and the player keeps decoding meanwhile.
//
// On a machine with a second address, Chromium may select another pair
// than the one it nominated first and mediad's agent kept (pion switches
// only to a pair of higher priority): its checks every 2.5 s go to that
// pair, which pion answers, and the routed pair gets its backup checks,
// one in 25 s. Two answers then span five disconnected timeouts, over
// which mediad's agent heard only the answers to its own checks.
func TestBrowsersSTUNAnsweredByPort(t *testing.T) {
	e2e.FFmpegPath(t)
	srv := startServer(t, true)
	defer srv.Close()
	waitLive(t, srv, "demo", 30*time.Second)
	type player interface {
		WaitStats(time.Duration, func(e2e.PlayerStats) bool) (e2e.PlayerStats, error)
	}
	watch := func(t *testing.T, tab player, answers int) {
		s, err := tab.WaitStats(60*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > 15 })
		if err != nil {
			t.Fatal(err)
		}
		answered, refused, before := testutil.ToFloat64(metrics.ViewerSTUNAnswered), stunRefused(), stunToPion()
		defer func() {
			after := stunToPion()
			for r, n := range after {
				if d := n - before[r]; d > 0 {
					t.Logf("to pion, %s: %v", r, d)
				}
			}
			t.Logf("answered by the port: %v", testutil.ToFloat64(metrics.ViewerSTUNAnswered)-answered)
		}()
		deadline := time.Now().Add(120 * time.Second)
		for testutil.ToFloat64(metrics.ViewerSTUNAnswered)-answered < float64(answers) {
			if time.Now().After(deadline) {
				t.Fatalf("the port answered too few of the browser's checks, want %d", answers)
			}
			time.Sleep(200 * time.Millisecond) // polling a counter
		}
		if d := stunRefused() - refused; d != 0 {
			t.Fatalf("%v of the browser's STUN messages refused by the port", d)
		}
		if _, err := tab.WaitStats(30*time.Second, func(n e2e.PlayerStats) bool { return n.FramesDecoded > s.FramesDecoded+30 }); err != nil {
			t.Fatalf("the player stopped: %v", err)
		}
	}
	t.Run("chromium", func(t *testing.T) {
		e2e.ChromiumPath(t)
		tab := e2e.NewBrowser(t).Open(t, srv.url("/watch/demo"))
		defer tab.Close()
		watch(t, tab, 2)
	})
	t.Run("firefox", func(t *testing.T) {
		ff := firefox.Start(t)
		tab := ff.Open(t, srv.url("/watch/demo"))
		defer tab.Close()
		watch(t, tab, 3)
	})
}
