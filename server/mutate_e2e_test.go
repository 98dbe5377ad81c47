package server

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
	"github.com/mutstream/mutstream/transcode"
)

const testAdmin = "e2e-admin"

// regionJS samples the playing video's luma: mean and standard deviation of
// the whole picture, of its centre (the blur rectangle) and of its left
// fifth, averaged over a few frames.
const regionJS = `(async () => {
  const v = document.querySelector('video');
  const c = document.createElement('canvas');
  const acc = {all: {mean: 0, sd: 0}, inside: {mean: 0, sd: 0}, outside: {mean: 0, sd: 0}};
  const N = 6;
  for (let k = 0; k < N; k++) {
    c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext('2d', {willReadFrequently: true});
    g.drawImage(v, 0, 0);
    const W = c.width, H = c.height;
    const stats = (x0, y0, x1, y1) => {
      const d = g.getImageData(x0, y0, x1 - x0, y1 - y0).data;
      // Mean luma, and detail: the mean absolute difference of horizontally
      // neighbouring pixels, which a blur takes away.
      const w = x1 - x0;
      let s = 0, n = 0, e = 0, ne = 0, prev = 0;
      for (let i = 0, p = 0; i < d.length; i += 4, p++) {
        const l = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
        s += l; n++;
        if (p % w !== 0) { e += Math.abs(l - prev); ne++; }
        prev = l;
      }
      return {mean: s / n, sd: e / Math.max(1, ne)};
    };
    const r = {all: stats(0, 0, W, H), inside: stats(W * 0.3 | 0, H * 0.3 | 0, W * 0.7 | 0, H * 0.7 | 0), outside: stats(0, 0, W * 0.2 | 0, H)};
    for (const k2 of ['all', 'inside', 'outside']) { acc[k2].mean += r[k2].mean / N; acc[k2].sd += r[k2].sd / N; }
    await new Promise((res) => setTimeout(res, 120));
  }
  return acc;
})()`

// watchPattern starts a server, publishes a 640x360 test pattern as name
// over RTMP and plays it in Chromium on the 360p rung, with the operator
// panel open; everything stops when the test ends.
func watchPattern(t *testing.T, name string) (*Server, *e2e.Browser, *e2e.Tab) {
	t.Helper()
	e2e.FFmpegPath(t)
	e2e.ChromiumPath(t)
	srv := startServer(t, false)
	t.Cleanup(func() { srv.Close() })
	pub := e2e.PublishTestPattern(t, srv.rtmpURL(name, testToken), "640x360", 30, 0)
	t.Cleanup(pub.Stop)
	waitLive(t, srv, name, 20*time.Second)
	browser := e2e.NewBrowser(t)
	tab := browser.Open(t, srv.url("/watch/"+name+"?rung=360p&operator=1"))
	if _, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > 30 }); err != nil {
		t.Fatal(err)
	}
	return srv, browser, tab
}

type region struct{ Mean, SD float64 }
type regions struct{ All, Inside, Outside region }

func putChain(t *testing.T, srv *Server, name, chain string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, srv.url("/api/v1/streams/"+name+"/mutations"), strings.NewReader(chain))
	req.Header.Set("Authorization", "Bearer "+testAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMutationsLive changes a stream's chain through the API while Chromium
// plays it: a color op makes the picture brighter, a blur lowers contrast
// inside its rectangle and not outside, with no reconnect and no freeze.
func TestMutationsLive(t *testing.T) {
	srv, _, tab := watchPattern(t, "cam")
	if _, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return s.Width == 640 }); err != nil {
		t.Fatal(err)
	}
	_ = tab.Eval("(window.__pc = window.mediad.pc, true)", nil)
	sample := func() regions {
		var r regions
		if err := tab.Eval(regionJS, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	base := sample()
	t.Logf("before: %+v", base)
	before, err := tab.Stats()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("wrong token refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, srv.url("/api/v1/streams/cam/mutations"), strings.NewReader(`[]`))
		req.Header.Set("Authorization", "Bearer nope")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("bad chain names op and field, chain in force stays", func(t *testing.T) {
		code, body := putChain(t, srv, "cam", `[{"op":"color","brightness":0.1},{"op":"blur","rect":[0.5,0.5,0.8,0.2]}]`)
		var e struct {
			Index int
			Field string
		}
		_ = json.Unmarshal([]byte(body), &e)
		if code != 400 || e.Index != 1 || e.Field != "rect" {
			t.Fatalf("%d %s", code, body)
		}
		resp, err := http.Get(srv.url("/api/v1/streams/cam/mutations"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `"chain":[]`) {
			t.Fatalf("chain changed by a refused PUT: %s", b)
		}
	})
	t.Run("brighter", func(t *testing.T) {
		if code, body := putChain(t, srv, "cam", `[{"op":"color","brightness":0.3}]`); code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		time.Sleep(time.Second)
		r := sample()
		t.Logf("brighter: %+v", r)
		if r.All.Mean < base.All.Mean+20 {
			t.Fatalf("mean luma %.1f -> %.1f: not brighter", base.All.Mean, r.All.Mean)
		}
	})
	t.Run("blur inside the rectangle only", func(t *testing.T) {
		if code, body := putChain(t, srv, "cam", `[{"op":"blur","rect":[0.3,0.3,0.4,0.4],"radius":16}]`); code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		time.Sleep(time.Second)
		r := sample()
		t.Logf("blurred: %+v", r)
		if r.Inside.SD > base.Inside.SD*0.8 {
			t.Fatalf("detail inside %.2f -> %.2f: not blurred", base.Inside.SD, r.Inside.SD)
		}
		if r.Outside.SD < base.Outside.SD*0.9 {
			t.Fatalf("detail outside %.2f -> %.2f: blurred outside the rectangle", base.Outside.SD, r.Outside.SD)
		}
	})
	s, err := tab.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.FreezeCount > before.FreezeCount {
		t.Errorf("%d freezes while the chain changed", s.FreezeCount-before.FreezeCount)
	}
	var same bool
	if err := tab.Eval("window.__pc === window.mediad.pc", &same); err != nil || !same {
		t.Fatalf("the viewer reconnected (same pc %v, %v)", same, err)
	}
}

// TestAnalyzeBlackEvents publishes a picture that goes black from 3 s to
// 5 s of every 8 s, until the test ends; a stream with the analyze op sends
// black events with those times to a viewer's events data channel, however
// late the viewer joins on a busy machine.
func TestAnalyzeBlackEvents(t *testing.T) {
	e2e.FFmpegPath(t)
	e2e.ChromiumPath(t)
	srv := startServer(t, false)
	defer srv.Close()
	pub := e2e.StartFFmpeg(t, "-hide_banner", "-loglevel", "warning", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30,drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(mod(t,8),3,5)'",
		"-f", "lavfi", "-i", "sine",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "flv", srv.rtmpURL("blackcam", testToken))
	defer pub.Stop()
	waitLive(t, srv, "blackcam", 30*time.Second)
	browser := e2e.NewBrowser(t)
	tab := browser.Open(t, srv.url("/watch/blackcam"))
	if _, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > 5 }); err != nil {
		t.Fatal(err)
	}
	type event struct {
		Type     string
		PTS      float64
		From, To *float64
	}
	// The viewer sees the end of a black section within one period (8 s)
	// of joining; more on a starved machine.
	deadline := time.Now().Add(40 * time.Second)
	var evs []event
	for time.Now().Before(deadline) {
		evs = nil
		_ = tab.Eval("window.mediad.events || []", &evs)
		for _, e := range evs {
			if e.Type == "black" {
				t.Logf("events: %+v", evs)
				if e.From == nil || e.To == nil {
					t.Fatalf("black event without from and to: %+v", e)
				}
				// Times in the period: the black section of a later period
				// is as good as the first.
				from, to := math.Mod(*e.From, 8), *e.To-8*math.Floor(*e.From/8)
				if from < 2.8 || from > 3.4 || to < 4.8 || to > 5.4 {
					t.Fatalf("black from %v to %v, want about 3 to 5 (mod 8 s)", *e.From, *e.To)
				}
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("no black event; got %+v", evs)
}

// getChain is GET /api/v1/streams/NAME/mutations: the status and body.
func getChain(t *testing.T, srv *Server, name string) (int, string) {
	t.Helper()
	resp, err := http.Get(srv.url("/api/v1/streams/" + name + "/mutations"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestChainBeforeLiveAndRestart: a chain PUT for a stream that is not live
// yet is stored, survives a restart of the server on the same state_dir,
// and is in force from the publisher's first frame: the color op blacks
// the picture out and the analyze op after it sees black from the first
// frame's timestamp on; the unmutated source is never offered as a rung.
func TestChainBeforeLiveAndRestart(t *testing.T) {
	e2e.FFmpegPath(t)
	srv := startServer(t, false)
	const chain = `[{"op":"color","brightness":-1},{"op":"analyze","min_duration":4}]`
	if code, body := getChain(t, srv, "keep"); code != http.StatusNotFound {
		t.Fatalf("GET before any PUT: %d %s, want 404", code, body)
	}
	if code, body := putChain(t, srv, "keep", chain); code != http.StatusOK {
		t.Fatalf("PUT before the stream is live: %d %s", code, body)
	}
	if code, body := getChain(t, srv, "keep"); code != http.StatusOK || !strings.Contains(body, `"color"`) {
		t.Fatalf("GET before the stream is live: %d %s", code, body)
	}
	cfg := srv.cfg
	srv.Close()

	srv2, err := New(cfg, e2e.TestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv2.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv2.Close)
	if code, body := getChain(t, srv2, "keep"); code != http.StatusOK || !strings.Contains(body, `"analyze"`) {
		t.Fatalf("GET after a restart: %d %s", code, body)
	}

	pub := e2e.PublishTestPattern(t, srv2.rtmpURL("keep", testToken), "320x180", 30, 0)
	t.Cleanup(pub.Stop)
	var st *stream.Stream
	for deadline := time.Now().Add(20 * time.Second); st == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the stream never appeared; ffmpeg: %s", pub.Output())
		}
		if s, err := srv2.Hub().Lookup("keep"); !errors.Is(err, stream.ErrNotFound) {
			st = s
		}
	}
	events, cancel := st.SubscribeEvents(64)
	defer cancel()
	in := waitLive(t, srv2, "keep", 20*time.Second)
	for _, r := range in.Rungs {
		if r.Name == transcode.SourceRungName {
			t.Errorf("rungs %+v: the unmutated source is offered", in.Rungs)
		}
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case b := <-events:
			var e gpu.Event
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			if e.Type != gpu.EventBlackStart {
				continue
			}
			t.Logf("black_start: %s", b)
			if e.From == nil || *e.From > 0.5 {
				t.Fatalf("black from %v s: the chain was not in force from the first frame (%s)", e.From, b)
			}
			if got := testutil.ToFloat64(metrics.AnalyzeLuma.WithLabelValues("keep")); got > 1 {
				t.Errorf("mean luma after the chain %.1f, want 0", got)
			}
			return
		case <-timeout:
			t.Fatal("no black_start event: the stored chain is not in force")
		}
	}
}
