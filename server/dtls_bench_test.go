package server

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/internal/e2e"
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

// dtlsJS watches /whep/NAME in Chromium and returns ICE connected ->
// connected (DTLS done) in ms, from the page's own state events.
const dtlsJS = `(async () => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', {direction: 'recvonly'});
  pc.addTransceiver('audio', {direction: 'recvonly'});
  let ice = 0;
  const done = new Promise((r) => {
    pc.oniceconnectionstatechange = () => { if (pc.iceConnectionState === 'connected' && !ice) ice = performance.now(); };
    pc.onconnectionstatechange = () => { if (pc.connectionState === 'connected') r(performance.now()); };
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
    if (res.status !== 404 && res.status !== 409) throw new Error('POST ' + res.status);
    await new Promise((r) => setTimeout(r, 50));
  }
  await pc.setRemoteDescription({type: 'answer', sdp: await res.text()});
  const connected = await done;
  window.keep = (window.keep || []).concat([pc]);
  return connected - ice;
})()`

// BenchmarkFirstViewerDTLSChromium is BenchmarkFirstViewerDTLS with
// Chromium viewers (one browser for all servers; the first viewer's page
// POSTs from the server's start until the stream is live).
func BenchmarkFirstViewerDTLSChromium(b *testing.B) {
	e2e.ChromiumPath(b)
	browser := e2e.NewBrowser(b)
	var first, second []float64
	for i := 0; i < 5; i++ {
		srv := startWith(b, func(c *config.Config) { c.Demo.Enabled = true })
		for j, into := range []*[]float64{&first, &second} {
			tab := browser.Open(b, srv.url("/healthz"))
			var d float64
			if err := tab.Eval(strings.ReplaceAll(dtlsJS, "NAME", "demo"), &d); err != nil {
				b.Fatalf("viewer %d: %v", j+1, err)
			}
			*into = append(*into, d)
			defer tab.Close()
		}
		srv.Close()
	}
	b.ReportMetric(median(first), "ms-first-viewer-dtls")
	b.ReportMetric(median(second), "ms-second-viewer-dtls")
	b.Logf("ICE connected -> DTLS connected (ms): first viewer %v, second %v", first, second)
}
