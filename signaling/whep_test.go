package signaling

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/stream"
)

// fakePipeline writes synthetic H.264-looking access units to two rungs and
// Opus-looking packets to audio, honouring keyframe requests.
type fakePipeline struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

// startFake is the pipeline of the test hubs: a publication whose video is
// VP8 gets the rungs in VP8 too, whose frames carry their number.
func startFake(pub *stream.Publication) (stream.Pipeline, error) {
	ladder := []stream.FeedInfo{
		{Name: "hi", Codec: stream.CodecH264, Width: 640, Height: 360, FPS: 30},
		{Name: "lo", Codec: stream.CodecH264, Width: 320, Height: 180, FPS: 30},
	}
	if v, ok := pub.Track(stream.KindVideo); ok && v.Codec == stream.CodecVP8 {
		ladder = append(ladder,
			stream.FeedInfo{Name: "hi", Codec: stream.CodecVP8, Width: 640, Height: 360, FPS: 30},
			stream.FeedInfo{Name: "lo", Codec: stream.CodecVP8, Width: 320, Height: 180, FPS: 30})
	}
	rungs, audio := pub.Stream().SetLadder(ladder, stream.FeedInfo{Name: "audio", Codec: stream.CodecOpus})
	p := &fakePipeline{stop: make(chan struct{})}
	key := make([]atomic.Bool, len(rungs))
	for i, f := range rungs {
		f.SetKeyframeRequester(func() { key[i].Store(true) })
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			pts := time.Duration(n) * 20 * time.Millisecond
			audio.Write(&stream.Packet{Kind: stream.KindAudio, PTS: pts, Duration: 20 * time.Millisecond, Data: []byte{0xfc, 1, 2, 3}})
			for i, f := range rungs {
				kf := n%50 == 0 || key[i].Swap(false)
				nal := byte(0x41)
				if kf {
					nal = 0x65
				}
				data := append([]byte{0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, nal}, make([]byte, 3000/(i%2+1))...)
				if f.Info().Codec == stream.CodecVP8 {
					data = fakeVP8(n, kf, 3000/(i%2+1))
				}
				f.Write(&stream.Packet{Kind: stream.KindVideo, PTS: pts, Keyframe: kf, Data: data})
			}
		}
	}()
	return p, nil
}

func (p *fakePipeline) Close() error {
	close(p.stop)
	p.wg.Wait()
	return nil
}

type testEnv struct {
	hub  *stream.Hub
	srv  *Server
	http *httptest.Server
}

func newTestEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	hub := stream.NewHub(startFake, slog.Default())
	cfg.UDPPort = 0
	cfg.UDPAddr = "127.0.0.1"
	srv, err := NewServer(cfg, hub, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	srv.Mount(r)
	hs := httptest.NewServer(r)
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close()
		hub.Close()
	})
	return &testEnv{hub: hub, srv: srv, http: hs}
}

func (e *testEnv) post(t *testing.T, path, ctype, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(e.http.URL+path, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestWHEPRefusals(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	offer := strings.ReplaceAll(chromeLikeOffer, "\n", "\r\n")
	// A stream that was live once and is not now.
	pub, err := env.hub.Publish("gone", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub.Close()
	if _, err := env.hub.Publish("live", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, ctype, body string
		status                  int
		want                    string
	}{
		{"wrong content type", "/whep/live", "text/plain", offer, 415, "application/sdp"},
		{"empty", "/whep/live", "application/sdp", "", 400, "empty"},
		{"malformed", "/whep/live", "application/sdp", "v=0\r\nbogus\r\n", 400, "malformed"},
		{"too large", "/whep/live", "application/sdp", strings.Repeat("a", MaxSDPSize+10), 413, "64 KiB"},
		{"no codec the stream sends", "/whep/live", "application/sdp", strings.ReplaceAll(offer, "H264", "H265"), 422, "offered: H265, VP8; accepted: H264"},
		{"no codec mediad sends", "/whep/live", "application/sdp", strings.NewReplacer("H264", "AV1", "VP8", "VP9").Replace(offer), 422, "offered: AV1, VP9; accepted: H264, VP8"},
		{"unknown stream", "/whep/nope", "application/sdp", offer, 404, "nope"},
		{"not live", "/whep/gone", "application/sdp", offer, 409, "not live"},
		{"bad rung", "/whep/live?rung=4k", "application/sdp", offer, 400, "have hi, lo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := env.post(t, tc.path, tc.ctype, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if !strings.Contains(body, tc.want) {
				t.Fatalf("body %q does not say %q", body, tc.want)
			}
			if tc.status == 409 && resp.Header.Get("Retry-After") == "" {
				t.Fatal("409 without Retry-After")
			}
		})
	}
}

func TestWHEPSessionPlaysSwitchesAndEnds(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	env := newTestEnv(t, DefaultConfig())
	if _, err := env.hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	c, err := e2e.DialWHEP(env.http.URL + "/whep/cam?rung=lo")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "video and audio packets", func() bool {
		return c.VideoPackets.Load() > 20 && c.AudioPackets.Load() > 20
	})
	waitFor(t, 5*time.Second, "initial rung message", func() bool { return hasMessage(c, "rung", "lo") })
	if n := env.srv.Sessions(); n != 1 {
		t.Fatalf("sessions %d, want 1", n)
	}
	st, _ := env.hub.Lookup("cam")
	if st.Viewers() != 1 {
		t.Fatalf("viewers %d, want 1", st.Viewers())
	}
	// Switch by hand: the server confirms and now reads the "hi" feed.
	if err := c.Send(map[string]string{"type": "rung", "rung": "hi"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "switch to hi", func() bool {
		hi, _ := st.Rung("hi")
		lo, _ := st.Rung("lo")
		return hasMessage(c, "rung", "hi") && hi.Readers() == 1 && lo.Readers() == 0
	})
	code, err := c.Delete()
	if err != nil || code != http.StatusOK {
		t.Fatalf("DELETE: %d %v", code, err)
	}
	waitFor(t, 5*time.Second, "session gone", func() bool { return env.srv.Sessions() == 0 && st.Viewers() == 0 })
	req, _ := http.NewRequest(http.MethodDelete, env.http.URL+c.Location, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("second DELETE: %d, want 404", resp.StatusCode)
	}
}

func TestWHEPViewerReapedWhenPeerVanishes(t *testing.T) {
	// The default timeouts: a vanished viewer must be gone within 15 s.
	env := newTestEnv(t, DefaultConfig())
	if _, err := env.hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	c, err := e2e.DialWHEP(env.http.URL + "/whep/cam")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "video", func() bool { return c.VideoPackets.Load() > 10 })
	// Vanish: stop answering ICE without a DTLS close or a DELETE.
	c.Vanish()
	t.Cleanup(c.Close)
	waitFor(t, 15*time.Second, "session reaped", func() bool { return env.srv.Sessions() == 0 })
}

func hasMessage(c *e2e.WHEPClient, typ, rung string) bool {
	for _, m := range c.Messages() {
		if m["type"] == typ && (rung == "" || m["rung"] == rung) {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

// TestWHEPViewerMovesWhenItsRungRetires: when a rung leaves the ladder (the
// source rung, once a mutation chain is set), its viewers move to the top
// rung at a keyframe on the same PeerConnection, without renegotiation.
func TestWHEPViewerMovesWhenItsRungRetires(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	if _, err := env.hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	c, err := e2e.DialWHEP(env.http.URL + "/whep/cam?rung=hi")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, _ := env.hub.Lookup("cam")
	hi, _ := st.Rung("hi")
	lo, _ := st.Rung("lo")
	waitFor(t, 10*time.Second, "video on hi", func() bool { return c.VideoPackets.Load() > 20 && hi.Readers() == 1 })
	st.SetLadder([]stream.FeedInfo{lo.Info()}, st.Audio().Info())
	waitFor(t, 5*time.Second, "viewer on lo", func() bool { return lo.Readers() == 1 && hasMessage(c, "rung", "lo") })
	n := c.VideoPackets.Load()
	waitFor(t, 5*time.Second, "video after the move", func() bool { return c.VideoPackets.Load() > n+20 })
	if c.PC.ConnectionState().String() != "connected" {
		t.Fatalf("connection %s after the move", c.PC.ConnectionState())
	}
}
