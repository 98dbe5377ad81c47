package server

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
)

// firstFrameJS plays stream NAME in a bare page: it POSTs the WHEP offer
// every 50 ms until the stream is live, and returns when the offer was
// accepted and when the first video frame was shown (Date.now, ms).
const firstFrameJS = `(async () => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', {direction: 'recvonly'});
  pc.addTransceiver('audio', {direction: 'recvonly'});
  const v = document.createElement('video');
  v.muted = true; v.autoplay = true; v.playsInline = true;
  document.body.appendChild(v);
  pc.ontrack = (e) => { v.srcObject = e.streams[0] || new MediaStream([e.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
    setTimeout(r, 2000);
  });
  let res;
  for (;;) {
    res = await fetch('/whep/NAME' + (typeof RUNG === 'string' && RUNG ? '?rung=' + RUNG : ''), {method: 'POST', headers: {'Content-Type': 'application/sdp'}, body: pc.localDescription.sdp});
    if (res.status === 201) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const posted = Date.now();
  await pc.setRemoteDescription({type: 'answer', sdp: await res.text()});
  const first = await new Promise((r) => v.requestVideoFrameCallback(() => r(Date.now())));
  pc.close();
  return {posted, first};
})()`

type firstFrame struct {
	Posted int64 `json:"posted"`
	First  int64 `json:"first"`
}

// BenchmarkFirstFrame measures, with ffmpeg publishing 720p30 over RTMP and
// Chromium watching over WHEP: the time from the first published keyframe
// reaching mediad to the first frame shown by a viewer that was waiting for
// the stream, and the time from a WHEP POST on a live stream to its first
// frame. Medians over five publishers.
func BenchmarkFirstFrame(b *testing.B) {
	e2e.FFmpegPath(b)
	e2e.ChromiumPath(b)
	srv := startServerB(b)
	defer srv.Close()
	browser := e2e.NewBrowser(b)
	var fromKey, join []float64
	for i := 0; i < 5; i++ {
		name := fmt.Sprintf("first%d", i)
		tab := browser.Open(b, srv.url("/healthz"))
		res := make(chan firstFrame, 1)
		errc := make(chan error, 1)
		go func() {
			var ff firstFrame
			if err := tab.Eval(strings.ReplaceAll(firstFrameJS, "NAME", name), &ff); err != nil {
				errc <- err
				return
			}
			res <- ff
		}()
		time.Sleep(300 * time.Millisecond) // the page is polling before the publisher starts
		pub := e2e.PublishTestPattern(b, srv.rtmpURL(name, testToken), "1280x720", 30, 0)
		var ff firstFrame
		select {
		case ff = <-res:
		case err := <-errc:
			b.Fatalf("viewer: %v (ffmpeg: %s)", err, pub.Output())
		}
		st, err := srv.Hub().Lookup(name)
		if err != nil {
			b.Fatal(err)
		}
		key := st.Publication().FirstKeyframe()
		fromKey = append(fromKey, float64(ff.First-key.UnixMilli()))
		// A second viewer joins the live stream.
		tab2 := browser.Open(b, srv.url("/healthz"))
		var ff2 firstFrame
		if err := tab2.Eval(strings.ReplaceAll(firstFrameJS, "NAME", name), &ff2); err != nil {
			b.Fatal(err)
		}
		join = append(join, float64(ff2.First-ff2.Posted))
		tab.Close()
		tab2.Close()
		pub.Stop()
	}
	b.ReportMetric(median(fromKey), "ms-keyframe-to-first-frame")
	b.ReportMetric(median(join), "ms-join-to-first-frame")
	b.Logf("first keyframe -> first frame (ms): %v; join -> first frame (ms): %v", fromKey, join)
}

// BenchmarkMemoryPerStream measures mediad's resident memory per live 720p30
// stream through the default ladder, with no viewers: RSS with two streams
// published, minus RSS before, halved.
func BenchmarkMemoryPerStream(b *testing.B) {
	e2e.FFmpegPath(b)
	srv := startServerB(b)
	defer srv.Close()
	time.Sleep(time.Second)
	base := rssBytes(b)
	const n = 2
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("mem%d", i)
		pub := e2e.PublishTestPattern(b, srv.rtmpURL(name, testToken), "1280x720", 30, 0)
		defer pub.Stop()
		waitLive(b, srv, name, 30*time.Second)
	}
	time.Sleep(10 * time.Second)
	live := rssBytes(b)
	per := float64(live-base) / n / (1 << 20)
	b.ReportMetric(per, "MiB-RSS/stream")
	b.Logf("RSS idle %.1f MiB, with %d streams %.1f MiB: %.1f MiB per stream",
		float64(base)/(1<<20), n, float64(live)/(1<<20), per)
}

func startServerB(b *testing.B) *Server {
	b.Helper()
	return startServer(b, false)
}

func rssBytes(tb testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	tb.Fatal("VmRSS not found")
	return 0
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
