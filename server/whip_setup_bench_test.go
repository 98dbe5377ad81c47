package server

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/metrics"
)

// encodedFrames sums mediad_encoded_frames_total over the rungs of name.
func encodedFrames(name string) float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		metrics.EncodedFrames.Collect(ch)
		close(ch)
	}()
	sum := 0.0
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) != nil {
			continue
		}
		for _, l := range d.GetLabel() {
			if l.GetName() == "stream" && l.GetValue() == name {
				sum += d.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// whipSetup publishes over WHIP with opt and returns the time from the
// POST to the first frame decoded and encoded by mediad.
func whipSetup(b *testing.B, srv *Server, name, ts string, opt e2e.WHIPOptions) time.Duration {
	c, err := e2e.DialWHIP(srv.url("/whip/"+name), testToken, opt)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// The file has no answer to a PLI: it starts once the connection is
	// up, so that its first keyframe is not sent into the void.
	for deadline := time.Now().Add(30 * time.Second); c.PC.ConnectionState() != webrtc.PeerConnectionStateConnected; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%s: not connected within 30s", name)
		}
	}
	c.StreamFile(ts, true)
	for deadline := time.Now().Add(30 * time.Second); encodedFrames(name) == 0; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%s: no frame decoded within 30s", name)
		}
	}
	return time.Since(c.Posted)
}

// BenchmarkWHIPSetup measures a WHIP publisher's setup time (POST to
// the first frame decoded, the rungs encoding without viewers) with a pion
// publisher offering setup:passive (mediad is the DTLS client, as with
// FFmpeg's muxer), the same dropping mediad's first ClientHello (as
// FFmpeg's muxer does), and setup:active (mediad is the DTLS server);
// each with pion's default DTLS retransmission (1s) and mediad's (150ms).
// Medians over five publishes.
func BenchmarkWHIPSetup(b *testing.B) {
	e2e.FFmpegPath(b)
	ts := filepath.Join(b.TempDir(), "in.ts")
	e2e.MakeTS(b, ts, "640x360", 30, 3, true)
	for _, rtx := range []time.Duration{time.Second, 150 * time.Millisecond} {
		srv := startWith(b, func(c *config.Config) {
			c.Transcode.PauseIdleRungs = false
			c.WebRTC.DTLSRetransmitInterval = rtx
		})
		for _, tc := range []struct {
			name string
			opt  e2e.WHIPOptions
		}{
			{"passive", e2e.WHIPOptions{Setup: "passive", NoAudio: true}},
			{"passive-drop-first", e2e.WHIPOptions{Setup: "passive", DropFirstDTLS: true, NoAudio: true}},
			{"active", e2e.WHIPOptions{Setup: "active", NoAudio: true}},
		} {
			var runs []float64
			for i := 0; i < 5; i++ {
				name := fmt.Sprintf("setup-%s-%d-%d", tc.name, rtx.Milliseconds(), i)
				runs = append(runs, msOf(whipSetup(b, srv, name, ts, tc.opt)))
			}
			unit := fmt.Sprintf("ms-%s-rtx%dms", tc.name, rtx.Milliseconds())
			b.ReportMetric(median(runs), unit)
			b.Logf("%s: %v", unit, runs)
		}
		srv.Close()
	}
}

// whipChromiumJS publishes Chromium's fake camera to /whip/NAME (H.264
// preferred, as the built-in publisher page does) and returns when the
// offer was POSTed (Date.now, ms).
const whipChromiumJS = `(async () => {
  const media = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 360}, audio: true});
  const pc = new RTCPeerConnection();
  for (const t of media.getTracks()) pc.addTransceiver(t, {direction: 'sendonly'});
  const vt = pc.getTransceivers().find((t) => t.sender.track && t.sender.track.kind === 'video');
  const h264 = RTCRtpSender.getCapabilities('video').codecs.filter((c) => c.mimeType === 'video/H264');
  if (h264.length) vt.setCodecPreferences(h264);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
    setTimeout(r, 2000);
  });
  const posted = Date.now();
  const res = await fetch('/whip/NAME', {method: 'POST', headers: {'Content-Type': 'application/sdp', 'Authorization': 'Bearer TOKEN'}, body: pc.localDescription.sdp});
  if (res.status !== 201) throw new Error('POST ' + res.status + ' ' + await res.text());
  await pc.setRemoteDescription({type: 'answer', sdp: await res.text()});
  window.keep = pc;
  return posted;
})()`

// BenchmarkWHIPSetupChromium is BenchmarkWHIPSetup for Chromium's own
// WHIP publishing (a fresh tab each time; Chromium offers actpass and mediad
// answers active: mediad is the DTLS client). Median over five publishes.
func BenchmarkWHIPSetupChromium(b *testing.B) {
	e2e.ChromiumPath(b)
	srv := startWith(b, func(c *config.Config) { c.Transcode.PauseIdleRungs = false })
	browser := e2e.NewBrowser(b)
	var runs []float64
	for i := 0; i < 5; i++ {
		name := fmt.Sprintf("setup-chromium-%d", i)
		tab := browser.Open(b, srv.url("/healthz"))
		var posted int64
		js := strings.NewReplacer("NAME", name, "TOKEN", testToken).Replace(whipChromiumJS)
		if err := tab.Eval(js, &posted); err != nil {
			b.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); encodedFrames(name) == 0; time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("%s: no frame decoded within 30s", name)
			}
		}
		runs = append(runs, float64(time.Now().UnixMilli()-posted))
		tab.Close()
	}
	b.ReportMetric(median(runs), "ms-chromium")
	b.Logf("ms-chromium: %v", runs)
}
