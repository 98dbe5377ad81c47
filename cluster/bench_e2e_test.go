package cluster_test

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/internal/fanout"
)

const benchLadder = "    - {name: 360p, width: 640, height: 360, fps: 30, bitrate: 1000000}\n"

// benchCluster starts Redis, an origin and n edges, and publishes a
// 640x360 30 fps stream to the origin over RTMP.
func benchCluster(b *testing.B, edges int) (*mediadNode, []*mediadNode) {
	e2e.FFmpegPath(b)
	redis := e2e.StartRedis(b)
	bin := buildMediad(b)
	origin := newNodeLadder(b, bin, "origin", redis.URL(), "origin", benchLadder)
	var es []*mediadNode
	for i := 0; i < edges; i++ {
		es = append(es, newNodeLadder(b, bin, "edge"+strconv.Itoa(i+1), redis.URL(), "edge", benchLadder))
	}
	dumpOnFailure(b, append([]*mediadNode{origin}, es...)...)
	e2e.PublishTestPattern(b, origin.rtmpURL("cam"), "640x360", 30, 0, "-b:v", "1M")
	waitUntil(b, "the stream live on the origin", 30*time.Second, func() bool {
		code, body := get(origin.url() + "/api/v1/streams/cam")
		return code == http.StatusOK && strings.Contains(body, `"live":true`) && strings.Contains(body, `"360p"`)
	})
	return origin, es
}

// cpuMsPerS measures a process's CPU over d, in ms per second.
func cpuMsPerS(b *testing.B, pid int, d time.Duration) float64 {
	t0, err := fanout.ProcCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	time.Sleep(d)
	t1, err := fanout.ProcCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	return float64(t1-t0) * 1000 / fanout.ClockTicks / time.Since(start).Seconds()
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkClusterScaleOut: one origin and two edges on this machine. The
// CPU per viewer-second of pion WHEP viewers (internal/fanout) on an edge
// and directly on the origin, and the origin's CPU per edge pulling the
// rung. CLUSTER_BENCH_VIEWERS viewers per node (default 40), windows of
// CLUSTER_BENCH_WINDOW seconds (default 15).
func BenchmarkClusterScaleOut(b *testing.B) {
	n := envInt("CLUSTER_BENCH_VIEWERS", 40)
	window := time.Duration(envInt("CLUSTER_BENCH_WINDOW", 15)) * time.Second
	origin, edges := benchCluster(b, 2)
	ctx := context.Background()
	pid := func(m *mediadNode) int { return m.cmd.Process.Pid }
	url := func(m *mediadNode) string { return m.url() + "/whep/cam?rung=360p" }
	mk := func(name string, m *mediadNode) *fanout.Bench {
		return &fanout.Bench{Server: name, URL: url(m), PID: pid(m), Rate: 20, Warmup: 3 * time.Second, Window: window,
			ConnectTimeout: 20 * time.Second}
	}

	// One viewer stays on the origin throughout, so its encoder runs in
	// every window (an encoder with no reader pauses): the figures below
	// are then fan-out alone, not the encoder waking up.
	api, err := fanout.NewAPI()
	if err != nil {
		b.Fatal(err)
	}
	keeper, err := fanout.DialViewer(ctx, api, &http.Client{Timeout: 10 * time.Second}, url(origin))
	if err != nil {
		b.Fatal(err)
	}
	defer keeper.Close()
	waitUntil(b, "the kept viewer to receive media", 20*time.Second, func() bool { return keeper.Count().Packets > 100 })
	// The origin with that one viewer and no pull: the transcode.
	originIdle := cpuMsPerS(b, pid(origin), window)

	direct := mk("origin-direct", origin)
	if _, err := direct.MeasureIdle(ctx); err != nil {
		b.Fatal(err)
	}
	rd, err := direct.Step(ctx, n)
	if err != nil {
		b.Fatal(err)
	}
	direct.Close()
	b.Logf("direct on the origin: %s", rd)

	var re []fanout.Result
	var benches []*fanout.Bench
	for i, e := range edges {
		eb := mk("edge"+strconv.Itoa(i+1), e)
		if _, err := eb.MeasureIdle(ctx); err != nil {
			b.Fatal(err)
		}
		r, err := eb.Step(ctx, n)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("edge %d: %s", i+1, r)
		re = append(re, r)
		benches = append(benches, eb)
	}
	// Both edges pull, each for n viewers: what they cost the origin.
	originTwo := cpuMsPerS(b, pid(origin), window)
	for _, eb := range benches {
		eb.Close()
	}
	perEdge := (originTwo - originIdle) / float64(len(edges))
	b.Logf("origin CPU: %.0f ms/s with no viewer, %.0f ms/s serving %d edges (%d viewers each): %.1f ms/s per edge; a direct viewer costs it %.2f ms/s",
		originIdle, originTwo, len(edges), n, perEdge, rd.MarginalMsPerViewerS)
	edgeMarg := 0.0
	for _, r := range re {
		edgeMarg += r.MarginalMsPerViewerS / float64(len(re))
	}
	b.ReportMetric(rd.MarginalMsPerViewerS, "origin-ms/viewer-s")
	b.ReportMetric(edgeMarg, "edge-ms/viewer-s")
	b.ReportMetric(perEdge, "origin-ms/edge-s")
	b.ReportMetric(originIdle, "origin-idle-ms/s")
}

// BenchmarkEdgeHopLatency: glass-to-glass latency on the origin and on an
// edge at once: Chromium publishes the clock source over WHIP to the
// origin; two pages read the time code of every frame, one playing from
// the origin, one from the edge. The difference of the medians is what
// the edge hop adds. CLUSTER_BENCH_WINDOW seconds (default 30).
func BenchmarkEdgeHopLatency(b *testing.B) {
	e2e.ChromiumPath(b)
	window := time.Duration(envInt("CLUSTER_BENCH_WINDOW", 30)) * time.Second
	redis := e2e.StartRedis(b)
	bin := buildMediad(b)
	origin := newNodeLadder(b, bin, "origin", redis.URL(), "origin", benchLadder)
	edge := newNodeLadder(b, bin, "edge", redis.URL(), "edge", benchLadder)
	dumpOnFailure(b, origin, edge)
	pubBrowser := e2e.NewBrowser(b)
	pubBrowser.Open(b, origin.url()+"/publish/lat?source=clock&autostart=1&width=640&height=360&token="+testPublish)
	waitUntil(b, "the clock stream live with its 360p rung", 40*time.Second, func() bool {
		code, body := get(origin.url() + "/api/v1/streams/lat")
		return code == http.StatusOK && strings.Contains(body, `"live":true`) && strings.Contains(body, `"360p"`)
	})
	viewers := e2e.NewBrowser(b)
	tabs := map[string]*e2e.Tab{}
	for name, n := range map[string]*mediadNode{"origin": origin, "edge": edge} {
		tab := viewers.Open(b, n.url()+"/watch/lat?measure=1&rung=360p")
		if _, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > 60 }); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		tabs[name] = tab
	}
	for _, tab := range tabs {
		tab.ResetLatency()
	}
	time.Sleep(window)
	sum := map[string]e2e.Latency{}
	for name, tab := range tabs {
		s, err := tab.Latency()
		if err != nil {
			b.Fatal(err)
		}
		if s.Count == 0 {
			b.Fatalf("%s: no time codes read (%d unreadable)", name, s.Failed)
		}
		b.Logf("%s: %d frames read, %d unreadable, p50 %.0f ms, p95 %.0f ms, min %.0f, max %.0f", name, s.Count, s.Failed, s.P50, s.P95, s.Min, s.Max)
		sum[name] = s
	}
	b.ReportMetric(sum["origin"].P50, "ms-p50-origin")
	b.ReportMetric(sum["edge"].P50, "ms-p50-edge")
	b.ReportMetric(sum["edge"].P50-sum["origin"].P50, "ms-p50-hop")
	b.ReportMetric(sum["edge"].P95-sum["origin"].P95, "ms-p95-hop")
}
