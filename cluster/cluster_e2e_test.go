package cluster_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
)

// TestClusterThreeNodes runs a real Redis and three mediad processes on
// loopback: a stream published over RTMP to A plays in Chromium on C
// (C pulls it: mediad_edge_pulls), the viewer moves to another node when
// C dies, a viewer on C recovers when the origin A dies and the publisher
// goes to B, and playback on C never stops while Redis is stopped.
func TestClusterThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("three mediad processes, ffmpeg and Chromium: not in -short")
	}
	e2e.FFmpegPath(t)
	e2e.ChromiumPath(t)
	redis := e2e.StartRedis(t)
	bin := buildMediad(t)
	a := newNode(t, bin, "a", redis.URL(), "both")
	b := newNode(t, bin, "b", redis.URL(), "both")
	c := newNode(t, bin, "c", redis.URL(), "both")
	dumpOnFailure(t, a, b, c)

	waitUntil(t, "three nodes listed", 10*time.Second, func() bool {
		code, body := get(c.url() + "/api/v1/cluster/nodes")
		return code == http.StatusOK && strings.Count(body, `"id"`) == 3
	})

	pub := e2e.PublishTestPattern(t, a.rtmpURL("cam"), "426x240", 24, 0)
	waitUntil(t, "the stream live on A", 30*time.Second, func() bool {
		code, body := get(a.url() + "/api/v1/streams/cam")
		return code == http.StatusOK && strings.Contains(body, `"live":true`) && strings.Contains(body, `"240p"`)
	})

	// Both viewers of C are pinned to one rung: an adapting viewer may
	// switch rungs, and C would pull each rung it watched.
	br := e2e.NewBrowser(t)
	tab := br.Open(t, c.url()+"/watch/cam?rung=240p")
	st, took := framesGrow(t, tab, "playback on C", 24, 30*time.Second)
	t.Logf("edge C plays after %s: %+v", took.Round(time.Millisecond), st)
	if st.Base != "" {
		t.Fatalf("the player left C (%s) before C died", st.Base)
	}
	if n := pulls(t, c, "cam"); n != 1 {
		t.Fatalf("C pulls %v rungs of cam for one viewer of one rung, want 1: %q", n, metric(c, "mediad_edge_pulls{"))
	}
	if n := pulls(t, a, ""); n != 0 {
		t.Fatalf("the origin pulls %v rungs, want 0: %q", n, metric(a, "mediad_edge_pulls{"))
	}
	// A Go viewer of the edge gets the audio too (from the pull that holds
	// it), and a second viewer of the same rung adds no pull.
	wc, err := e2e.DialWHEP(c.url() + "/whep/cam?rung=240p")
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "audio and video for a Go viewer of C", 20*time.Second, func() bool {
		return wc.AudioPackets.Load() > 20 && wc.VideoPackets.Load() > 20
	})
	if n := pulls(t, c, "cam"); n != 1 {
		t.Fatalf("C pulls %v rungs with two viewers of one rung, want 1: %q", n, metric(c, "mediad_edge_pulls{"))
	}
	wc.Close()

	// An edge dies: its viewer plays on another node through the player's retry.
	onC := readPlayer(tab).Base
	c.kill()
	killedAt := time.Now()
	st = framesGrowOff(t, tab, "playback on another node after C died", onC, 12, 30*time.Second)
	moved := time.Since(killedAt)
	if st.Base != a.url() && st.Base != b.url() {
		t.Fatalf("after C died the player plays from %q", st.Base)
	}
	t.Logf("C killed: the player plays on %s %s later (goal: 3 s)", st.Base, moved.Round(time.Millisecond))

	// An origin dies while the publisher goes to B: a viewer on C stays on C.
	c.start()
	tab2 := br.Open(t, c.url()+"/watch/cam")
	framesGrow(t, tab2, "playback on the restarted C", 24, 30*time.Second)
	tab.Close() // the first viewer may be on A: it would move again
	a.kill()
	pub.Stop()
	diedAt := time.Now()
	pub = e2e.PublishTestPattern(t, b.rtmpURL("cam"), "426x240", 24, 0)
	st, _ = framesGrow(t, tab2, "playback on C from the new origin B", 24, 60*time.Second)
	if st.Base != "" {
		t.Fatalf("the viewer of C left for %s when the origin changed", st.Base)
	}
	t.Logf("origin A killed, publisher on B: the viewer on C plays again %s later", time.Since(diedAt).Round(time.Millisecond))
	if code, body := get(c.url() + "/api/v1/streams/cam"); code != http.StatusOK || !strings.Contains(body, `"protocol":"edge"`) {
		t.Fatalf("C's stream: %d %s", code, body)
	}

	// Redis stops for 5 s: playback on C never stops; a lookup that needs
	// Redis answers 503 with a Retry-After; all is well once it is back.
	redis.Pause()
	pausedAt := time.Now()
	prev := readPlayer(tab2)
	checked503 := false
	for time.Since(pausedAt) < 5*time.Second {
		if !checked503 {
			res, err := http.Post(c.url()+"/whep/elsewhere", "application/sdp", strings.NewReader("v=0\r\n"))
			if err == nil {
				res.Body.Close()
				if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
					redis.Resume()
					t.Fatalf("an offer needing Redis while it is stopped: %d, Retry-After %q; want 503 with one", res.StatusCode, res.Header.Get("Retry-After"))
				}
				checked503 = true
			}
		}
		// Each second of the outage decodes frames.
		deadline := time.Now().Add(time.Second)
		for {
			cur := readPlayer(tab2)
			if cur.State == "playing" && cur.Frames > prev.Frames && cur.Base == "" {
				prev = cur
				break
			}
			if time.Now().After(deadline) {
				redis.Resume()
				t.Fatalf("playback on C stopped while Redis was stopped: %+v then %+v", prev, cur)
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Until(deadline))
	}
	redis.Resume()
	if !checked503 {
		t.Fatal("no offer answered while Redis was stopped")
	}
	waitUntil(t, "the node list answering again", 10*time.Second, func() bool {
		code, _ := get(c.url() + "/api/v1/cluster/nodes")
		return code == http.StatusOK
	})
	framesGrow(t, tab2, "playback on C after Redis came back", 24, 20*time.Second)

	// Its last viewer gone, C stops pulling (after cluster.pull_linger).
	tab2.Close()
	waitUntil(t, "C to stop pulling an unwatched rung", 20*time.Second, func() bool {
		return pulls(t, c, "cam") == 0 // 0, or the series gone with the edge stream
	})
}
