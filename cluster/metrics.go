package cluster

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// Collectors of the cluster.
var (
	edgePulls = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_edge_pulls",
		Help: "Rungs this edge pulls from their origin over WHEP now, by stream and video codec (h264, vp8).",
	}, []string{"stream", "codec"})
	edgePullStarts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_edge_pull_starts_total",
		Help: "WHEP pulls an edge started, by result (ok, refused, failed).",
	}, []string{"result"})
	edgeFramesDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_edge_frames_dropped_total",
		Help: "Frames an edge pull received incomplete or could not use, by reason (lost_packet, await_keyframe, late_packet, wrong_codec).",
	}, []string{"reason"})
	redisErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_cluster_redis_errors_total",
		Help: "Cluster directory calls that failed to reach Redis (or read a bad record), by operation.",
	}, []string{"op"})
	takeovers = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mediad_cluster_takeovers_total",
		Help: "Streams this node published that a publisher on another node took over.",
	})
	lookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_cluster_lookups_total",
		Help: "Viewer offers for streams not published here, by result (edge, local, no_origin, unavailable, refused).",
	}, []string{"result"})
)

func init() {
	metrics.Registry.MustRegister(edgePulls, edgePullStarts, edgeFramesDropped, redisErrors, takeovers, lookups)
}

// countPull counts a pull of stream name in codec in mediad_edge_pulls and
// returns what uncounts it. It keeps the gauge, not its labels: an edge
// stream that ended deleted the stream's series meanwhile, and a look-up
// by labels would bring it back at -1.
func countPull(name string, codec stream.Codec) (done func()) {
	g := edgePulls.WithLabelValues(name, string(codec))
	g.Inc()
	return g.Dec
}

func sortNodes(n []NodeInfo) {
	sort.Slice(n, func(i, j int) bool { return n[i].ID < n[j].ID })
}
