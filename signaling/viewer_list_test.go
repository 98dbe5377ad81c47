package signaling

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/stream"
)

// TestViewersListedWhileJoining lists a stream's viewers in a tight loop
// while viewers join and leave (and some offers fail) on other goroutines:
// a session is listed only once it is complete, so no listing panics or
// races (run under -race), and every listed viewer has its fields.
func TestViewersListedWhileJoining(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RateLimit = RateLimit{} // dozens of requests from one address
	env := newTestEnv(t, cfg)
	if _, err := env.hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	listed := make(chan int, 1)
	var bad []string
	go func() {
		max := 0
		defer func() { listed <- max }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			vs := env.srv.Viewers("cam")
			max = maxInt(max, len(vs))
			for _, v := range vs {
				if len(v.ID) != 8 || (v.Rung != "hi" && v.Rung != "lo") || v.State == "" || v.History == nil || v.Switches == nil {
					bad = append(bad, fmt.Sprintf("%+v", v))
				}
			}
		}
	}()
	const joiners, rounds = 3, 6
	var wg sync.WaitGroup
	errs := make(chan error, joiners*rounds*2)
	for j := range joiners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				url := env.http.URL + "/whep/cam"
				if i%2 == 1 {
					url += "?rung=lo"
				}
				c, err := e2e.DialWHEP(url)
				if err != nil {
					errs <- err
					continue
				}
				// An offer that fails after the session's place is
				// reserved (no H.264): never listed.
				if resp, body := env.post(t, "/whep/cam", "application/sdp", strings.ReplaceAll(strings.ReplaceAll(chromeLikeOffer, "\n", "\r\n"), "H264", "H265")); resp.StatusCode != 422 {
					errs <- fmt.Errorf("offer without H.264: %d %s", resp.StatusCode, body)
				}
				if (i+j)%2 == 0 {
					if code, err := c.Delete(); err != nil || code != 200 {
						errs <- fmt.Errorf("DELETE: %d %v", code, err)
					}
				} else {
					c.Close() // DTLS close, no DELETE
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, 15*time.Second, "every session gone", func() bool { return env.srv.Sessions() == 0 })
	close(stop)
	most := <-listed
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(bad) > 0 {
		t.Fatalf("%d listed viewers lacked fields, e.g. %s", len(bad), bad[0])
	}
	if most == 0 {
		t.Fatal("no viewer was ever listed")
	}
	t.Logf("up to %d viewers listed at once", most)
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
