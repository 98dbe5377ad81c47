package server

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/internal/e2e"
)

// metricsText returns /metrics, "" when it cannot be read (callers poll).
func metricsText(t *testing.T, srv *Server) string {
	t.Helper()
	resp, err := http.Get(srv.url("/metrics"))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// eventually polls cond until it holds (true) or limit passes (false); for
// goroutines other than the test's.
func eventually(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// TestEndedStreamsLeaveNothing publishes 50 distinct stream names over
// RTMP with ffmpeg, some watched, and ends them: the hub forgets every one
// and /metrics keeps no series of any.
func TestEndedStreamsLeaveNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("50 ffmpeg publishers")
	}
	e2e.FFmpegPath(t)
	srv := startWith(t, func(c *config.Config) { c.Ingest.Grace = 0 })
	const total, batch = 50, 5
	label := func(i int) string { return fmt.Sprintf(`stream="gone%d"`, i) }
	for first := 0; first < total; first += batch {
		var wg sync.WaitGroup
		for i := first; i < first+batch; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				name := fmt.Sprintf("gone%d", i)
				p := e2e.PublishTestPattern(t, srv.rtmpURL(name, testToken), "160x90", 10, 0)
				defer p.Stop()
				// Its series exist while it is live.
				if !eventually(2*time.Minute, func() bool {
					return strings.Contains(metricsText(t, srv), "mediad_encoded_frames_total{codec=") &&
						strings.Contains(metricsText(t, srv), label(i))
				}) {
					t.Errorf("no encoded frames of %s", name)
					return
				}
				if i%10 == 0 { // some are watched
					v, err := e2e.DialWHEP(srv.url("/whep/" + name))
					if err != nil {
						t.Error(err)
						return
					}
					defer v.Close()
					if !eventually(time.Minute, func() bool { return v.VideoPackets.Load() > 0 }) {
						t.Errorf("no video at a viewer of %s", name)
						return
					}
					if !strings.Contains(metricsText(t, srv), `mediad_viewers{`+label(i)+`} 1`) {
						t.Errorf("no viewer series for %s", name)
					}
					p.Stop()
					if !eventually(time.Minute, func() bool {
						for _, m := range v.Messages() {
							if m["type"] == "ended" {
								return true
							}
						}
						return false
					}) {
						t.Errorf("the viewer of %s was not told the stream ended", name)
					}
				}
			}(i)
		}
		wg.Wait()
		if t.Failed() {
			return
		}
	}
	waitFor(t, time.Minute, "every ended stream freed", func() bool { return srv.Hub().Len() == 0 })
	waitFor(t, time.Minute, "no series of ended streams", func() bool {
		m := metricsText(t, srv)
		for i := 0; i < total; i++ {
			if strings.Contains(m, label(i)+"}") || strings.Contains(m, label(i)+",") {
				return false
			}
		}
		return true
	})
}
