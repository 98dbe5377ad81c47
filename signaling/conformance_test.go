package signaling

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/stream"
)

const pubToken = "pub-secret"

// countingPipeline counts the packets a publication delivers.
type countingPipeline struct {
	n    *atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
}

func (p *countingPipeline) Close() error { close(p.stop); p.wg.Wait(); return nil }

// newWHIPEnv runs the signaling server with publish auth and a hub whose
// pipelines count packets; cfg tweaks the defaults.
func newWHIPEnv(t *testing.T, tweak func(*Config)) (*httptest.Server, *Server, *stream.Hub, *atomic.Int64) {
	t.Helper()
	var packets atomic.Int64
	hub := stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
		pub.Stream().SetLadder([]stream.FeedInfo{{Name: "source", Codec: stream.CodecH264}}, stream.FeedInfo{Name: "audio", Codec: stream.CodecOpus})
		p := &countingPipeline{n: &packets, stop: make(chan struct{})}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				select {
				case <-p.stop:
					return
				case <-pub.Packets():
					packets.Add(1)
				}
			}
		}()
		return p, nil
	}, slog.Default())
	cfg := DefaultConfig()
	cfg.UDPPort, cfg.UDPAddr = 0, "127.0.0.1"
	cfg.ICEServers = []ICEServer{{URLs: []string{"stun:stun.example.net:3478"}}, {URLs: []string{"turn:turn.example.net?transport=udp"}, Username: "u", Credential: "p"}}
	cfg.RateLimit = RateLimit{Viewers: Bucket{PerSecond: 50, Burst: 100}, Publishers: Bucket{PerSecond: 50, Burst: 100}}
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := NewServer(cfg, hub, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	srv.SetPublishAuth(func(name, token string) bool { return tokenEqual(pubToken, token) })
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	srv.Mount(r)
	hs := httptest.NewServer(r)
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close()
		hub.Close()
	})
	return hs, srv, hub, &packets
}

type call struct {
	method, path, ctype, body, token string
	hdr                              map[string]string
}

func do(t *testing.T, base string, c call) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// publisherOffer is a real pion WHIP offer (sendonly H.264 High + Opus).
func publisherOffer(t *testing.T) string {
	t.Helper()
	o := strings.ReplaceAll(chromeLikeOffer, "a=recvonly", "a=sendonly")
	return strings.ReplaceAll(o, "\n", "\r\n")
}

// TestWHIPWHEPConformance walks the MUSTs and SHOULDs of RFC 9725 and the
// WHEP draft that mediad implements, against the running resources.
func TestWHIPWHEPConformance(t *testing.T) {
	e2e.FFmpegPath(t)
	hs, srv, hub, packets := newWHIPEnv(t, nil)
	ts := filepath.Join(t.TempDir(), "obs.ts")
	e2e.MakeTS(t, ts, "320x180", 30, 3, false)
	offer := publisherOffer(t)
	twoVideo := offer + "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=sendonly\r\na=rtpmap:102 H264/90000\r\n"
	vp9 := strings.NewReplacer("VP8/90000", "VP9/90000", "H264/90000", "AV1/90000").Replace(offer)
	noOpus := strings.ReplaceAll(offer, "opus/48000/2", "PCMU/8000")

	static := []struct {
		name   string
		c      call
		status int
		want   string
		hdr    map[string]string
	}{
		{"OPTIONS needs no auth", call{method: "OPTIONS", path: "/whip/cam"}, 204, "", map[string]string{"Accept-Post": "application/sdp", "Access-Control-Allow-Origin": "*", "Allow": "POST, OPTIONS"}},
		{"OPTIONS on a session URL", call{method: "OPTIONS", path: "/whip/cam/sessions/x"}, 204, "", map[string]string{"Accept-Patch": "application/trickle-ice-sdpfrag"}},
		{"no token", call{method: "POST", path: "/whip/cam", ctype: "application/sdp", body: offer}, 401, "missing bearer", map[string]string{"WWW-Authenticate": `Bearer realm="mediad"`}},
		{"wrong token", call{method: "POST", path: "/whip/cam", ctype: "application/sdp", body: offer, token: "nope"}, 401, "wrong bearer", nil},
		{"wrong content type", call{method: "POST", path: "/whip/cam", ctype: "text/plain", body: offer, token: pubToken}, 415, "application/sdp", nil},
		{"empty offer", call{method: "POST", path: "/whip/cam", ctype: "application/sdp", token: pubToken}, 400, "empty", nil},
		{"malformed offer", call{method: "POST", path: "/whip/cam", ctype: "application/sdp", body: "v=0\r\nwhat\r\n", token: pubToken}, 400, "malformed SDP", nil},
		{"offer over 64 KiB", call{method: "POST", path: "/whip/cam", ctype: "application/sdp", body: strings.Repeat("x", MaxSDPSize+1), token: pubToken}, 413, "64 KiB", nil},
		{"two video tracks", call{method: "POST", path: "/whip/cam", ctype: "application/sdp", body: twoVideo, token: pubToken}, 422, "2 video tracks", nil},
		{"no usable video codec", call{method: "POST", path: "/whip/cam", ctype: "application/sdp", body: vp9, token: pubToken}, 422, "offered: AV1, VP9; accepted: H264, VP8", nil},
		{"no usable audio codec", call{method: "POST", path: "/whip/cam", ctype: "application/sdp", body: noOpus, token: pubToken}, 422, "offered: PCMU; accepted: opus", nil},
		{"bad stream name", call{method: "POST", path: "/whip/a%20b", ctype: "application/sdp", body: offer, token: pubToken}, 400, "stream name", nil},
		{"GET not allowed", call{method: "GET", path: "/whip/cam"}, 405, "not allowed", map[string]string{"Allow": "POST, OPTIONS"}},
		{"PUT on a session not allowed", call{method: "PUT", path: "/whip/cam/sessions/x"}, 405, "", map[string]string{"Allow": "PATCH, DELETE, OPTIONS"}},
		{"DELETE unknown session", call{method: "DELETE", path: "/whip/cam/sessions/nope", token: pubToken}, 404, "no such session", nil},
		{"PATCH unknown session", call{method: "PATCH", path: "/whip/cam/sessions/nope", ctype: "application/trickle-ice-sdpfrag", token: pubToken}, 404, "", nil},
		{"WHEP OPTIONS", call{method: "OPTIONS", path: "/whep/cam"}, 204, "", map[string]string{"Accept-Post": "application/sdp"}},
		{"WHEP GET not allowed", call{method: "GET", path: "/whep/cam"}, 405, "", map[string]string{"Allow": "POST, OPTIONS"}},
	}
	for _, tc := range static {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, hs.URL, tc.c)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %q, want %d containing %q", resp.StatusCode, body, tc.status, tc.want)
			}
			for k, v := range tc.hdr {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}

	// A real publisher: the Go WHIP client sending H.264 High with B-frames.
	c, err := e2e.DialWHIP(hs.URL+"/whip/cam", pubToken, e2e.WHIPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.StreamFile(ts, true)
	t.Run("POST gives 201, Location, ETag, ice-server links", func(t *testing.T) {
		if !regexp.MustCompile(`^/whip/cam/sessions/[0-9a-f]{32}$`).MatchString(c.Location) {
			t.Errorf("Location %q is not an unguessable session URL", c.Location)
		}
		if c.ETag == "" {
			t.Error("no ETag")
		}
		// Unauthenticated OPTIONS lists no server that needs credentials;
		// the answer to the POST (TestTURNCredentialsOnlyAfterAuth) does.
		resp, _ := do(t, hs.URL, call{method: "OPTIONS", path: "/whip/cam"})
		links := resp.Header.Values("Link")
		if len(links) != 1 || links[0] != `<stun:stun.example.net:3478>; rel="ice-server"` {
			t.Errorf("Link headers %q", links)
		}
	})
	waitFor(t, 20*time.Second, "media from the WHIP publisher", func() bool { return packets.Load() > 30 })
	if st, err := hub.Lookup("cam"); err != nil || st.Info().Protocol != "whip" {
		t.Fatalf("stream not live over whip: %v", err)
	}
	sess := c.Location
	frag := "a=ice-ufrag:abcd1234\r\na=ice-pwd:abcdefghijklmnopqrstuvwxyz\r\n"
	trickle := "m=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n"
	for _, tc := range []struct {
		name   string
		c      call
		status int
		want   string
	}{
		{"PATCH without token", call{method: "PATCH", path: sess, ctype: "application/trickle-ice-sdpfrag", body: trickle}, 401, ""},
		{"PATCH wrong content type", call{method: "PATCH", path: sess, ctype: "application/sdp", body: trickle, token: pubToken}, 415, "trickle-ice-sdpfrag"},
		{"PATCH trickle candidates", call{method: "PATCH", path: sess, ctype: "application/trickle-ice-sdpfrag", body: trickle, token: pubToken}, 204, ""},
		{"PATCH trickle with stale If-Match", call{method: "PATCH", path: sess, ctype: "application/trickle-ice-sdpfrag", body: trickle, token: pubToken, hdr: map[string]string{"If-Match": `"stale"`}}, 412, ""},
		{"ICE restart without If-Match", call{method: "PATCH", path: sess, ctype: "application/trickle-ice-sdpfrag", body: frag, token: pubToken}, 428, "If-Match"},
		{"ICE restart with stale If-Match", call{method: "PATCH", path: sess, ctype: "application/trickle-ice-sdpfrag", body: frag, token: pubToken, hdr: map[string]string{"If-Match": `"stale"`}}, 412, ""},
		{"malformed sdpfrag", call{method: "PATCH", path: sess, ctype: "application/trickle-ice-sdpfrag", body: "nonsense", token: pubToken}, 400, "malformed"},
		{"DELETE without token", call{method: "DELETE", path: sess}, 401, ""},
		{"session of another kind", call{method: "DELETE", path: strings.Replace(sess, "/whip/", "/whep/", 1)}, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, hs.URL, tc.c)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %q, want %d containing %q", resp.StatusCode, body, tc.status, tc.want)
			}
		})
	}
	t.Run("a failed ICE restart keeps the session", func(t *testing.T) {
		resp, body := do(t, hs.URL, call{method: "PATCH", path: sess, ctype: "application/trickle-ice-sdpfrag", token: pubToken,
			body: "a=ice-ufrag:x\r\na=ice-pwd:y\r\n", hdr: map[string]string{"If-Match": c.ETag}})
		t.Logf("restart with bad credentials: %d %q", resp.StatusCode, body)
		if resp.StatusCode < 400 {
			t.Fatalf("a restart with invalid ICE credentials was accepted: %d", resp.StatusCode)
		}
		n := packets.Load()
		waitFor(t, 10*time.Second, "media after the failed restart", func() bool { return packets.Load() > n+30 })
		if srv.Sessions("whip") != 1 {
			t.Fatal("session lost")
		}
	})
	t.Run("ICE restart with If-Match gives 200, new ETag, media goes on", func(t *testing.T) {
		old := c.ETag
		if err := c.RestartICE(); err != nil {
			t.Fatal(err)
		}
		if c.ETag == "" || c.ETag == old {
			t.Fatalf("ETag %q after restart (was %q)", c.ETag, old)
		}
		n := packets.Load()
		waitFor(t, 15*time.Second, "media after the restart", func() bool { return packets.Load() > n+30 })
	})
	t.Run("a second publisher gets the stream only with the token", func(t *testing.T) {
		if _, err := e2e.DialWHIP(hs.URL+"/whip/cam", "nope", e2e.WHIPOptions{}); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("wrong-token takeover: %v", err)
		}
		if srv.Sessions("whip") != 1 {
			t.Fatalf("whip sessions %d", srv.Sessions("whip"))
		}
	})
	t.Run("DELETE ends the session, then 404", func(t *testing.T) {
		code, err := c.Delete()
		if err != nil || code != 200 {
			t.Fatalf("DELETE: %d %v", code, err)
		}
		waitFor(t, 10*time.Second, "publisher gone", func() bool { return srv.Sessions("whip") == 0 })
		if _, err := hub.Lookup("cam"); err == nil {
			t.Fatal("stream still live after DELETE")
		}
		resp, _ := do(t, hs.URL, call{method: "DELETE", path: sess, token: pubToken})
		if resp.StatusCode != 404 {
			t.Fatalf("second DELETE: %d", resp.StatusCode)
		}
	})
}

func TestWHIPLimits(t *testing.T) {
	e2e.FFmpegPath(t)
	hs, _, _, _ := newWHIPEnv(t, func(c *Config) {
		c.MaxPublishers = 1
		c.RateLimit.Publishers = Bucket{PerSecond: 1, Burst: 4}
	})
	c, err := e2e.DialWHIP(hs.URL+"/whip/one", pubToken, e2e.WHIPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, body := do(t, hs.URL, call{method: "POST", path: "/whip/two", ctype: "application/sdp", body: publisherOffer(t), token: pubToken})
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "publisher limit") {
		t.Fatalf("over max publishers: %d %q", resp.StatusCode, body)
	}
	var limited *http.Response
	for i := 0; i < 10 && limited == nil; i++ {
		r, _ := do(t, hs.URL, call{method: "DELETE", path: "/whip/one/sessions/x", token: pubToken})
		if r.StatusCode == 429 {
			limited = r
		}
	}
	if limited == nil || limited.Header.Get("Retry-After") == "" {
		t.Fatal("no 429 with Retry-After after a burst")
	}
	if r, _ := do(t, hs.URL, call{method: "OPTIONS", path: "/whip/one"}); r.StatusCode != 204 {
		t.Fatalf("OPTIONS was rate limited: %d", r.StatusCode)
	}
}
