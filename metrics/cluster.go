package metrics

import "github.com/prometheus/client_golang/prometheus"

// Collectors of the cluster (cluster/): edges pulling from origins, and
// the Redis directory.
var (
	// EdgePulls counts the pulls an edge holds now, by stream and codec.
	EdgePulls = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_edge_pulls",
		Help: "Rungs this edge pulls from their origin over WHEP now, by stream and video codec (h264, vp8).",
	}, []string{"stream", "codec"})

	// EdgePullStarts counts the pulls an edge started, by result.
	EdgePullStarts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_edge_pull_starts_total",
		Help: "WHEP pulls an edge started, by result (ok, refused, failed).",
	}, []string{"result"})

	// EdgeFramesDropped counts frames an edge pull could not use, by reason.
	EdgeFramesDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_edge_frames_dropped_total",
		Help: "Frames an edge pull received incomplete or could not use, by reason (lost_packet, await_keyframe, late_packet, wrong_codec).",
	}, []string{"reason"})

	// ClusterRedisErrors counts directory calls that failed, by operation.
	ClusterRedisErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_cluster_redis_errors_total",
		Help: "Cluster directory calls that failed to reach Redis (or read a bad record), by operation.",
	}, []string{"op"})

	// ClusterTakeovers counts streams taken over by another node.
	ClusterTakeovers = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mediad_cluster_takeovers_total",
		Help: "Streams this node published that a publisher on another node took over.",
	})

	// ClusterLookups counts offers that needed a directory look-up, by result.
	ClusterLookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_cluster_lookups_total",
		Help: "Viewer offers for streams not published here, by result (edge, local, no_origin, unavailable, refused).",
	}, []string{"result"})
)

func init() {
	Registry.MustRegister(EdgePulls, EdgePullStarts, EdgeFramesDropped, ClusterRedisErrors, ClusterTakeovers, ClusterLookups)
	perStream = append(perStream, EdgePulls)
}
