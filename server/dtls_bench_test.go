package server

import (
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/internal/firefox"
)

// dtlsTiming is one viewer's ICE connected -> DTLS connected (the
// PeerConnection connected), as its own pion PeerConnection saw it.
type dtlsTiming struct {
	iceConnected, connected time.Time
}

func (d dtlsTiming) handshake() time.Duration { return d.connected.Sub(d.iceConnected) }

// dialTimedViewer watches url over WHEP with a pion PeerConnection whose
// state changes are timed from before the offer, and returns when it is
// connected.
func dialTimedViewer(tb testing.TB, url string) (*webrtc.PeerConnection, dtlsTiming) {
	tb.Helper()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		tb.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var tm dtlsTiming
	connected := make(chan struct{})
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			mu.Lock()
			tm.iceConnected = time.Now()
			mu.Unlock()
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			mu.Lock()
			tm.connected = time.Now()
			mu.Unlock()
			close(connected)
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		_, _ = io.Copy(io.Discard, readerOf(tr))
	})
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			tb.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		tb.Fatal(err)
	}
	<-gathered
	// Until the stream is live the POST gets 404 or 409: ask again.
	var body []byte
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Post(url, "application/sdp", strings.NewReader(pc.LocalDescription().SDP))
		if err != nil {
			tb.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			break
		}
		if (resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusConflict) || time.Now().After(deadline) {
			tb.Fatalf("WHEP POST: %d %s", resp.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(30 * time.Second):
		tb.Fatal("viewer never connected")
	}
	mu.Lock()
	defer mu.Unlock()
	return pc, tm
}

// trackReader reads a remote track's RTP until it ends.
type trackReader struct{ tr *webrtc.TrackRemote }

func readerOf(tr *webrtc.TrackRemote) io.Reader { return trackReader{tr} }

func (r trackReader) Read(b []byte) (int, error) {
	n, _, err := r.tr.Read(b)
	return n, err
}

// BenchmarkFirstViewerDTLS measures, on fresh servers, the DTLS handshake
// (ICE connected -> connected) of the first viewer, which asks for the demo
// stream from the moment the server starts (its POST repeated until the
// stream is live, so it starts the rung's encoder), and of the one after
// it. Issue 15 saw 600-790 ms for the first and 10-18 ms for the next.
// Medians over five servers.
func BenchmarkFirstViewerDTLS(b *testing.B) {
	var first, second []float64
	for i := 0; i < 5; i++ {
		srv := startWith(b, func(c *config.Config) {
			c.Demo.Enabled = true
		})
		pc1, t1 := dialTimedViewer(b, srv.url("/whep/demo"))
		pc2, t2 := dialTimedViewer(b, srv.url("/whep/demo"))
		first = append(first, msOf(t1.handshake()))
		second = append(second, msOf(t2.handshake()))
		_ = pc1.Close()
		_ = pc2.Close()
		srv.Close()
	}
	b.ReportMetric(median(first), "ms-first-viewer-dtls")
	b.ReportMetric(median(second), "ms-second-viewer-dtls")
	b.Logf("ICE connected -> DTLS connected (ms): first viewer %v, second %v", first, second)
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// dtlsJS watches /whep/NAME from the page and resolves to a pageDTLS:
// ICE connected -> connected (DTLS done) from the page's own state events.
// CODEC, when not empty, is the only video codec the page offers
// (setCodecPreferences, as the player's ?codec= does).
const dtlsJS = `(async () => {
  const pc = new RTCPeerConnection();
  const vt = pc.addTransceiver('video', {direction: 'recvonly'});
  pc.addTransceiver('audio', {direction: 'recvonly'});
  const want = 'CODEC';
  if (want) vt.setCodecPreferences(RTCRtpReceiver.getCapabilities('video').codecs.filter((c) => c.mimeType.toLowerCase() === 'video/' + want));
  let ice = 0, answered = 0;
  const events = [];
  const done = new Promise((r) => {
    pc.oniceconnectionstatechange = () => {
      events.push('ice ' + pc.iceConnectionState + ' ' + (performance.now() - answered).toFixed(1) + ' at ' + new Date().toISOString().slice(11, 23));
      if (pc.iceConnectionState === 'connected' && !ice) ice = performance.now();
    };
    pc.onconnectionstatechange = () => {
      events.push('pc ' + pc.connectionState + ' ' + (performance.now() - answered).toFixed(1) + ' at ' + new Date().toISOString().slice(11, 23));
      if (pc.connectionState === 'connected') r(performance.now());
    };
  });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
    setTimeout(r, 2000);
  });
  let res;
  for (;;) {
    res = await fetch('/whep/NAME', {method: 'POST', headers: {'Content-Type': 'application/sdp'}, body: pc.localDescription.sdp});
    if (res.status === 201) break;
    if (res.status !== 404 && res.status !== 409) throw new Error('POST ' + res.status + ' ' + await res.text());
    await new Promise((r) => setTimeout(r, 50));
  }
  const sdp = await res.text();
  answered = performance.now();
  await pc.setRemoteDescription({type: 'answer', sdp});
  const connected = await done;
  window.keep = (window.keep || []).concat([pc]);
  const m = sdp.match(/a=rtpmap:\d+ (\w+)\/90000/);
  return {dtls: connected - ice, ice: ice - answered, codec: m ? m[1] : '', events};
})()`

// pageDTLS is what dtlsJS resolves to.
type pageDTLS struct {
	DTLS   float64  `json:"dtls"`  // ICE connected -> connected, ms
	ICE    float64  `json:"ice"`   // answer -> ICE connected, ms
	Codec  string   `json:"codec"` // the answer's video codec
	Events []string `json:"events"`
}

// evalTab is a browser page of either driver (internal/e2e's Chromium,
// internal/firefox's Firefox).
type evalTab interface {
	Eval(js string, out any) error
	Close()
}

// opener gives the pages of one server: the same browser for all of them
// or a fresh one per server (done closes it).
type opener func(tb testing.TB) (open func(tb testing.TB, url string) evalTab, done func())

// keep is the opener of one browser for every server.
func keep(open func(tb testing.TB, url string) evalTab) opener {
	return func(testing.TB) (func(testing.TB, string) evalTab, func()) { return open, func() {} }
}

// firstViewerDTLSIn measures, on fresh servers (benchServers) with the
// demo stream, a browser's first viewer and the next one, as BenchmarkFirstViewerDTLS
// does with pion. codec limits the pages' video offer ("" offers all the
// browser has). With live set the first viewer comes once the stream is
// live (as a user who starts mediad and then opens the player); else its
// page POSTs from the server's start until the stream is live.
func firstViewerDTLSIn(b *testing.B, browser opener, codec string, live bool) {
	var first, second []float64
	for i := 0; i < benchServers(); i++ {
		open, done := browser(b)
		srv := startWith(b, func(c *config.Config) { c.Demo.Enabled = true })
		if live {
			waitLive(b, srv, "demo", 60*time.Second)
		}
		for j, into := range []*[]float64{&first, &second} {
			tab := open(b, srv.url("/healthz"))
			var d pageDTLS
			js := strings.NewReplacer("NAME", "demo", "CODEC", codec).Replace(dtlsJS)
			if err := tab.Eval(js, &d); err != nil {
				b.Fatalf("server %d viewer %d: %v", i+1, j+1, err)
			}
			if codec != "" && !strings.EqualFold(d.Codec, codec) {
				b.Fatalf("server %d viewer %d answered with %q, want %s", i+1, j+1, d.Codec, codec)
			}
			*into = append(*into, d.DTLS)
			b.Logf("server %d viewer %d (%s): answer -> ICE connected %.1f ms, ICE connected -> DTLS connected %.1f ms; %v", i+1, j+1, d.Codec, d.ICE, d.DTLS, d.Events)
			tab.Close()
		}
		srv.Close()
		done()
	}
	reportDTLS(b, first, second)
}

// reportDTLS reports the medians and the slowest of each viewer's
// handshakes (a flight lost and sent again shows in the slowest, seldom
// in a median).
func reportDTLS(b *testing.B, first, second []float64) {
	b.ReportMetric(median(first), "ms-first-viewer-dtls")
	b.ReportMetric(median(second), "ms-second-viewer-dtls")
	b.ReportMetric(slices.Max(first), "ms-first-viewer-dtls-max")
	b.ReportMetric(slices.Max(second), "ms-second-viewer-dtls-max")
	b.Logf("ICE connected -> DTLS connected (ms): first viewer %v, second %v", rounded(first), rounded(second))
}

// rounded gives ms to a tenth, for logs.
func rounded(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Round(x*10) / 10
	}
	return out
}

// benchServers is how many fresh servers the browser benchmarks start:
// MEDIAD_BENCH_SERVERS, 5 by default (a lost flight is seldom: more
// servers show how seldom).
func benchServers() int {
	if n, err := strconv.Atoi(os.Getenv("MEDIAD_BENCH_SERVERS")); err == nil && n > 0 {
		return n
	}
	return 5
}

// BenchmarkFirstViewerDTLSChromium is BenchmarkFirstViewerDTLS with
// Chromium viewers (one browser for all servers): offering everything
// (answered H.264) and VP8 only (the first such viewer opens the VP8
// twin's encoder), from the server's start and once the stream is live.
func BenchmarkFirstViewerDTLSChromium(b *testing.B) {
	e2e.ChromiumPath(b)
	browser := e2e.NewBrowser(b)
	open := keep(func(tb testing.TB, url string) evalTab { return browser.Open(tb, url) })
	for _, codec := range []string{"h264", "vp8"} {
		for _, live := range []bool{false, true} {
			b.Run(codec+"/"+whenName(live), func(b *testing.B) {
				want := codec
				if codec == "h264" {
					want = "" // everything Chromium has: the server picks H.264
				}
				firstViewerDTLSIn(b, open, want, live)
			})
		}
	}
}

// BenchmarkFirstViewerDTLSFirefox is BenchmarkFirstViewerDTLS with
// Firefox ESR viewers as Debian installs it (no H.264: answered VP8): one
// browser for all servers, and (fresh-browser) a browser started anew
// for each server, whose first viewer is also the browser's first.
func BenchmarkFirstViewerDTLSFirefox(b *testing.B) {
	ff := firefox.Start(b)
	b.Logf("browser %s", ff.Version)
	open := keep(func(tb testing.TB, url string) evalTab { return ff.Open(tb, url) })
	for _, live := range []bool{false, true} {
		b.Run("vp8/"+whenName(live), func(b *testing.B) { firstViewerDTLSIn(b, open, "", live) })
	}
	b.Run("vp8/fresh-browser", func(b *testing.B) {
		firstViewerDTLSIn(b, func(tb testing.TB) (func(testing.TB, string) evalTab, func()) {
			fresh := firefox.Start(tb)
			return func(tb testing.TB, url string) evalTab { return fresh.Open(tb, url) }, fresh.Close
		}, "", true)
	})
}

func whenName(live bool) string {
	if live {
		return "live"
	}
	return "from-start"
}
