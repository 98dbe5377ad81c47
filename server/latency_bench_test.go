package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
)

// BenchmarkGlassToGlass measures browser-to-browser latency through mediad:
// a Chromium page publishes the clock test source (each frame carries
// Date.now() as a block code) over WHIP, another page plays it over WHEP
// and reads the code back from every displayed frame. One minute on the
// source rung (forwarded untouched) and one on a transcoded rung; and the
// time from the publisher's start to a waiting viewer's first frame.
func BenchmarkGlassToGlass(b *testing.B) {
	e2e.ChromiumPath(b)
	window := 60 * time.Second
	if testing.Short() {
		window = 10 * time.Second
	}
	srv := startServer(b, false)
	defer srv.Close()
	// The publisher and the viewer each get their own browser, so both
	// pages are in front and neither is throttled.
	browser := e2e.NewBrowser(b)
	pubBrowser := e2e.NewBrowser(b)

	// Publish to first frame: a viewer polls for the stream, then the
	// publisher starts; on the top rung (the source) and on 180p, which a
	// browser publisher has from its first frame.
	firstFrames := func(rung string) []float64 {
		var firsts []float64
		for i := 0; i < 3; i++ {
			name := fmt.Sprintf("ttff%s%d", rung, i)
			viewer := browser.Open(b, srv.url("/healthz"))
			res := make(chan firstFrame, 1)
			errc := make(chan error, 1)
			js := "(async () => { const RUNG = '" + rung + "'; return await " + strings.ReplaceAll(firstFrameJS, "NAME", name) + "; })()"
			go func() {
				var ff firstFrame
				if err := viewer.Eval(js, &ff); err != nil {
					errc <- err
					return
				}
				res <- ff
			}()
			time.Sleep(300 * time.Millisecond)
			pubTab := pubBrowser.Open(b, srv.url("/publish/"+name+"?source=clock&width=640&height=360&token="+testToken))
			var t0 int64
			if err := pubTab.Eval(`(async () => { await new Promise(r => setTimeout(r, 300)); const t = Date.now(); window.mediadPublish.start({}); return t; })()`, &t0); err != nil {
				b.Fatal(err)
			}
			select {
			case ff := <-res:
				firsts = append(firsts, float64(ff.First-t0))
			case err := <-errc:
				b.Fatalf("viewer: %v", err)
			case <-time.After(30 * time.Second):
				b.Fatal("no first frame in 30 s")
			}
			pubTab.Close()
			viewer.Close()
		}
		return firsts
	}
	firsts := firstFrames("")
	firsts180 := firstFrames("180p")

	pubTab := pubBrowser.Open(b, srv.url("/publish/lat?source=clock&autostart=1&width=640&height=360&token="+testToken))
	info := waitLive(b, srv, "lat", 30*time.Second)
	for start := time.Now(); time.Since(start) < 40*time.Second && (info.Source == nil || info.Source.Width < 640); {
		time.Sleep(500 * time.Millisecond)
		info = waitLive(b, srv, "lat", 5*time.Second)
	}
	b.Logf("publisher at %dx%d, rungs %d", info.Source.Width, info.Source.Height, len(info.Rungs))
	measure := func(rung string) e2e.Latency {
		tab := browser.Open(b, srv.url("/watch/lat?measure=1&rung="+rung))
		defer tab.Close()
		if _, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > 60 }); err != nil {
			b.Fatalf("rung %s: %v", rung, err)
		}
		tab.ResetLatency()
		time.Sleep(window)
		s, err := tab.Latency()
		if err != nil {
			b.Fatal(err)
		}
		if s.Count == 0 {
			b.Fatalf("rung %s: no time codes read (%d failed)", rung, s.Failed)
		}
		b.Logf("rung %s: %d frames read, %d unreadable, p50 %.0f ms, p95 %.0f ms, min %.0f, max %.0f", rung, s.Count, s.Failed, s.P50, s.P95, s.Min, s.Max)
		return s
	}
	src := measure("source")
	tr := measure("360p")
	pubTab.Close()
	b.ReportMetric(src.P50, "ms-p50-source")
	b.ReportMetric(src.P95, "ms-p95-source")
	b.ReportMetric(tr.P50, "ms-p50-360p")
	b.ReportMetric(tr.P95, "ms-p95-360p")
	b.ReportMetric(median(firsts), "ms-publish-to-first-frame")
	b.ReportMetric(median(firsts180), "ms-publish-to-first-frame-180p")
	b.Logf("publish -> first frame (ms): top rung %v, 180p %v", firsts, firsts180)
}
