package signaling

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/auth"
	"github.com/mutstream/mutstream/stream"
)

// pionOffer is an offer from a real pion PeerConnection: recvonly (a
// viewer) or sendonly (a publisher) video and audio.
func pionOffer(t *testing.T, dir webrtc.RTPTransceiverDirection) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: dir}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}

// authEnv is the signaling server behind a gin engine that trusts the
// given proxies (none when nil), with a hub whose streams play the fake
// pipeline.
type authEnv struct {
	hub *stream.Hub
	srv *Server
	url string
}

func newAuthEnv(t *testing.T, tweak func(*Config), trusted []string, setup func(*Server)) *authEnv {
	t.Helper()
	hub := stream.NewHub(startFake, slog.Default())
	cfg := DefaultConfig()
	cfg.UDPPort, cfg.UDPAddr = 0, "127.0.0.1"
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := NewServer(cfg, hub, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(srv)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if err := r.SetTrustedProxies(trusted); err != nil {
		t.Fatal(err)
	}
	srv.Mount(r)
	hs := httptest.NewServer(r)
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close()
		hub.Close()
	})
	return &authEnv{hub: hub, srv: srv, url: hs.URL}
}

func (e *authEnv) live(t *testing.T, name string) {
	t.Helper()
	if _, err := e.hub.Publish(name, "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the stream's rungs", func() bool {
		st, err := e.hub.Lookup(name)
		return err == nil && len(st.Rungs()) > 0
	})
}

// statuses counts the answers to n requests made by mk.
func statuses(t *testing.T, base string, n int, mk func(i int) call) map[int]int {
	t.Helper()
	got := map[int]int{}
	for i := 0; i < n; i++ {
		resp, _ := do(t, base, mk(i))
		got[resp.StatusCode]++
	}
	return got
}

// TestRateLimitKeyedByClientAddress: X-Forwarded-For from a peer that is
// not a trusted proxy changes nothing (issue 11: 40 POSTs with distinct
// X-Forwarded-For all got 201 under a 5/s, burst 20 limit); from a trusted
// proxy it names distinct clients; IPv6 clients count by their /64.
func TestRateLimitKeyedByClientAddress(t *testing.T) {
	limit := func(c *Config) {
		c.RateLimit = RateLimit{Viewers: Bucket{PerSecond: 5, Burst: 20}, Publishers: Bucket{PerSecond: 5, Burst: 20}}
	}
	offer := pionOffer(t, webrtc.RTPTransceiverDirectionRecvonly)
	post := func(xff string) call {
		return call{method: "POST", path: "/whep/nope", ctype: "application/sdp", body: offer, hdr: map[string]string{"X-Forwarded-For": xff, "X-Real-IP": xff}}
	}
	forged := newAuthEnv(t, limit, nil, nil)
	got := statuses(t, forged.url, 40, func(i int) call { return post(fmt.Sprintf("203.0.113.%d", i+1)) })
	t.Logf("untrusted peer, distinct X-Forwarded-For: %v", got)
	if got[http.StatusTooManyRequests] < 15 {
		t.Fatalf("X-Forwarded-For bypassed the limit: %v", got)
	}
	proxied := newAuthEnv(t, limit, []string{"127.0.0.1/32", "::1"}, nil)
	got = statuses(t, proxied.url, 40, func(i int) call { return post(fmt.Sprintf("198.51.100.9, 203.0.113.%d", i+1)) })
	t.Logf("trusted proxy, distinct clients: %v", got)
	if got[http.StatusTooManyRequests] != 0 || got[http.StatusNotFound] != 40 {
		t.Fatalf("distinct clients behind a trusted proxy were limited as one: %v", got)
	}
	got = statuses(t, proxied.url, 40, func(i int) call { return post(fmt.Sprintf("2001:db8:7:7:%x::1", i+1)) })
	t.Logf("trusted proxy, one IPv6 /64: %v", got)
	if got[http.StatusTooManyRequests] < 15 {
		t.Fatalf("addresses of one /64 were distinct clients: %v", got)
	}
}

// TestViewerAndPublisherLimits: under the defaults a class of 100 viewers
// behind one address joins at once, while publishers from that address
// are still limited (issue 11: the shared 5/s, burst 20 limit refused
// such a class for up to 16 s).
func TestViewerAndPublisherLimits(t *testing.T) {
	e := newAuthEnv(t, nil, nil, func(s *Server) { s.SetPublishAuth(func(string, string) bool { return false }) })
	e.live(t, "class")
	offer := pionOffer(t, webrtc.RTPTransceiverDirectionRecvonly)
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int]int{}
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := do(t, e.url, call{method: "POST", path: "/whep/class", ctype: "application/sdp", body: offer})
			mu.Lock()
			got[resp.StatusCode]++
			mu.Unlock()
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("viewer %d: %d %q", i, resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	t.Logf("100 viewers from one address: %v", got)
	if got[http.StatusCreated] != 100 || e.srv.Sessions("whep") != 100 {
		t.Fatalf("a class of 100 did not join: %v, %d sessions", got, e.srv.Sessions("whep"))
	}
	pub := pionOffer(t, webrtc.RTPTransceiverDirectionSendonly)
	got = statuses(t, e.url, 40, func(int) call {
		return call{method: "POST", path: "/whip/cam", ctype: "application/sdp", body: pub, token: "x"}
	})
	t.Logf("40 publisher POSTs from the same address: %v", got)
	if got[http.StatusTooManyRequests] < 15 {
		t.Fatalf("the publishers' limit did not bite: %v", got)
	}
}

const jwtSecret = "0123456789abcdef0123456789abcdef"

func signJWT(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAuthorizerOnWHIPAndWHEP: JWTs per stream and action, expiry, the
// stream cap released when a WHIP session ends, and a webhook that
// denies or cannot be reached (fail closed).
func TestAuthorizerOnWHIPAndWHEP(t *testing.T) {
	stop := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.Contains(r.URL.Path, "slow") {
			select {
			case <-r.Context().Done():
			case <-stop:
			}
			return
		}
		if strings.Contains(r.URL.Path, "deny") {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer hook.Close()
	defer close(stop)
	newAuthz := func(webhook string) *auth.Authorizer {
		cfg := auth.DefaultConfig()
		cfg.Play = auth.PlayToken
		cfg.PublishToken = "static-publish-token"
		cfg.MaxStreamsPerToken = 1
		cfg.JWT.Keys = []auth.JWTKey{{Alg: "HS256", Secret: jwtSecret}}
		cfg.WebhookURL = webhook
		cfg.WebhookTimeout = 300 * time.Millisecond
		a, err := auth.New(cfg, auth.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	e := newAuthEnv(t, nil, nil, func(s *Server) {
		if err := s.SetAuthorizer(newAuthz(hook.URL + "/allow")); err != nil {
			t.Fatal(err)
		}
	})
	e.live(t, "cam1")
	exp := time.Now().Add(time.Hour).Unix()
	publisher := signJWT(t, jwt.MapClaims{"sub": "alice", "streams": []string{"cam*"}, "actions": []string{"publish"}, "exp": exp})
	viewer := signJWT(t, jwt.MapClaims{"streams": []string{"cam1"}, "actions": []string{"play"}, "exp": exp})
	expired := signJWT(t, jwt.MapClaims{"streams": []string{"*"}, "actions": []string{"publish", "play"}, "exp": time.Now().Add(-time.Minute).Unix()})
	pub := pionOffer(t, webrtc.RTPTransceiverDirectionSendonly)
	view := pionOffer(t, webrtc.RTPTransceiverDirectionRecvonly)
	whip := func(name, token string) call {
		return call{method: "POST", path: "/whip/" + name, ctype: "application/sdp", body: pub, token: token}
	}
	whep := func(name, token string) call {
		return call{method: "POST", path: "/whep/" + name, ctype: "application/sdp", body: view, token: token}
	}
	var sessionA string
	for _, tc := range []struct {
		name   string
		c      call
		status int
		want   string
	}{
		{"WHEP without a token", whep("cam1", ""), 401, "missing bearer token"},
		{"WHEP with a play JWT", whep("cam1", viewer), 201, ""},
		{"WHEP with a play JWT for another stream", whep("cam2", viewer), 401, `does not grant play on "cam2"`},
		{"WHEP with a publish-only JWT", whep("cam1", publisher), 401, "does not grant play"},
		{"WHEP with an expired JWT", whep("cam1", expired), 401, "token expired"},
		{"WHIP with a play-only JWT", whip("cam9", viewer), 401, "does not grant publish"},
		{"WHIP outside the JWT's streams", whip("studio", publisher), 401, `does not grant publish on "studio"`},
		{"WHIP with an expired JWT", whip("cam9", expired), 401, "token expired"},
		{"WHIP with a publish JWT", whip("camA", publisher), 201, ""},
		{"a second stream over the cap", whip("camB", publisher), 403, "max_streams_per_token"},
		{"another credential has its own count", whip("other", "static-publish-token"), 201, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, e.url, tc.c)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %q, want %d with %q", resp.StatusCode, body, tc.status, tc.want)
			}
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
			if tc.c.path == "/whip/camA" {
				sessionA = resp.Header.Get("Location")
			}
		})
	}
	if sessionA == "" {
		t.Fatal("no session for camA")
	}
	// Ending the session releases its count: then camB may start.
	if resp, body := do(t, e.url, call{method: "DELETE", path: sessionA, token: publisher}); resp.StatusCode != 200 {
		t.Fatalf("DELETE: %d %q", resp.StatusCode, body)
	}
	if resp, body := do(t, e.url, whip("camB", publisher)); resp.StatusCode != 201 {
		t.Fatalf("after the first stream ended: %d %q", resp.StatusCode, body)
	}

	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/deny", 403, "denied by the authorization webhook"},
		{"/slow", 503, "webhook unavailable"},
	} {
		e := newAuthEnv(t, nil, nil, func(s *Server) {
			if err := s.SetAuthorizer(newAuthz(hook.URL + tc.path)); err != nil {
				t.Fatal(err)
			}
		})
		for _, c := range []call{whip("cam5", publisher), whep("cam1", viewer)} {
			resp, body := do(t, e.url, c)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("webhook %s, %s: %d %q", tc.path, c.path, resp.StatusCode, body)
			}
		}
		if e.srv.Sessions() != 0 {
			t.Fatalf("webhook %s: a session started", tc.path)
		}
	}
}

// TestSetAuthorizerKeepsViewerToken: an authorizer that would open play
// beside a configured webrtc.viewer_token is refused, not silently used.
func TestSetAuthorizerKeepsViewerToken(t *testing.T) {
	a, err := auth.New(auth.DefaultConfig(), auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	newAuthEnv(t, func(c *Config) { c.ViewerToken = "watch" }, nil, func(s *Server) {
		if err := s.SetAuthorizer(a); err == nil || !strings.Contains(err.Error(), "viewer_token") {
			t.Fatalf("SetAuthorizer: %v", err)
		}
	})
}

var linkRE = regexp.MustCompile(`^<([^>]+)>; rel="ice-server"(?:; username="([^"]*)"; credential="([^"]*)"; credential-type="password")?$`)

// TestTURNCredentialsOnlyAfterAuth: OPTIONS (no auth) lists only servers
// without credentials; a POST that passed auth gets fresh TURN REST
// credentials (username "<expiry>:<id>", credential
// base64(HMAC-SHA1(secret, username))); a refused POST gets none.
func TestTURNCredentialsOnlyAfterAuth(t *testing.T) {
	const secret = "turn-shared-secret"
	e := newAuthEnv(t, func(c *Config) {
		c.ViewerToken = "watch-token"
		c.ICEServers = []ICEServer{{URLs: []string{"stun:stun.example.net:3478"}}, {URLs: []string{"turn:static.example.net"}, Username: "u", Credential: "static-pass"}}
		c.TURN = TURN{URLs: []string{"turn:turn.example.net:3478?transport=udp", "turns:turn.example.net:5349"}, Secret: secret, TTL: time.Hour}
	}, nil, nil)
	e.live(t, "cam")
	secretsIn := func(h http.Header) bool {
		all := strings.Join(h.Values("Link"), "\n")
		return strings.Contains(all, "credential") || strings.Contains(all, "static-pass")
	}
	for _, path := range []string{"/whep/cam", "/whip/cam", "/whep/cam/sessions/x"} {
		resp, _ := do(t, e.url, call{method: "OPTIONS", path: path})
		links := resp.Header.Values("Link")
		if resp.StatusCode != 204 || secretsIn(resp.Header) || len(links) != 1 || !strings.HasPrefix(links[0], "<stun:stun.example.net:3478>") {
			t.Fatalf("OPTIONS %s: %d, Link %q", path, resp.StatusCode, links)
		}
	}
	view := pionOffer(t, webrtc.RTPTransceiverDirectionRecvonly)
	resp, _ := do(t, e.url, call{method: "POST", path: "/whep/cam", ctype: "application/sdp", body: view, token: "wrong"})
	if resp.StatusCode != 401 || secretsIn(resp.Header) {
		t.Fatalf("refused POST: %d, Link %q", resp.StatusCode, resp.Header.Values("Link"))
	}
	before := time.Now()
	resp, body := do(t, e.url, call{method: "POST", path: "/whep/cam", ctype: "application/sdp", body: view, token: "watch-token"})
	if resp.StatusCode != 201 {
		t.Fatalf("POST: %d %q", resp.StatusCode, body)
	}
	turn := map[string][2]string{}
	for _, l := range resp.Header.Values("Link") {
		m := linkRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("Link %q is not an ice-server link", l)
		}
		turn[m[1]] = [2]string{m[2], m[3]}
	}
	if len(turn) != 4 || turn["stun:stun.example.net:3478"] != [2]string{} || turn["turn:static.example.net"] != [2]string{"u", "static-pass"} {
		t.Fatalf("links %v", turn)
	}
	user, cred := turn["turn:turn.example.net:3478?transport=udp"][0], turn["turn:turn.example.net:3478?transport=udp"][1]
	if turn["turns:turn.example.net:5349"] != [2]string{user, cred} {
		t.Fatalf("TURN URLs got different credentials: %v", turn)
	}
	expiry, id, ok := strings.Cut(user, ":")
	exp, err := strconv.ParseInt(expiry, 10, 64)
	if !ok || err != nil || id == "" {
		t.Fatalf("username %q is not <expiry>:<id>", user)
	}
	if at := time.Unix(exp, 0); at.Before(before.Add(time.Hour-time.Second)) || at.After(time.Now().Add(time.Hour+time.Second)) {
		t.Fatalf("expiry %v is not an hour from now", at)
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(user))
	if cred != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		t.Fatalf("credential %q is not HMAC-SHA1(secret, %q)", cred, user)
	}
	// Each authorized POST gets its own username.
	resp2, _ := do(t, e.url, call{method: "POST", path: "/whep/cam", ctype: "application/sdp", body: view, token: "watch-token"})
	if strings.Contains(strings.Join(resp2.Header.Values("Link"), " "), user) {
		t.Fatal("two sessions got one TURN username")
	}
}
