package metrics

import "github.com/prometheus/client_golang/prometheus"

// Collectors of WHIP (WebRTC) ingest, filled by ingest/webrtc.
var (
	// WHIPPacketsLost counts RTP packets a WHIP publisher sent that never
	// arrived in time: the jitter buffer gave up on them.
	WHIPPacketsLost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_whip_packets_lost_total",
		Help: "RTP packets from WHIP publishers given up on (not received or retransmitted in time), by stream.",
	}, []string{"stream"})

	// WHIPPacketsRecovered counts RTP packets that arrived after a later
	// one: retransmitted after a NACK, or reordered by the network.
	WHIPPacketsRecovered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_whip_packets_recovered_total",
		Help: "RTP packets from WHIP publishers that arrived after a later one (retransmitted or reordered) in time to be used, by stream.",
	}, []string{"stream"})

	// WHIPPacketsDropped counts RTP packets thrown away on arrival, by
	// reason (late, duplicate, malformed).
	WHIPPacketsDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_whip_packets_dropped_total",
		Help: "RTP packets from WHIP publishers dropped on arrival, by reason.",
	}, []string{"reason"})

	// WHIPNacksSent counts RTCP NACK packets sent to WHIP publishers.
	WHIPNacksSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mediad_whip_nacks_sent_total",
		Help: "RTCP generic NACK packets sent to WHIP publishers.",
	})

	// WHIPNackedPackets counts the sequence numbers those NACKs asked for.
	WHIPNackedPackets = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mediad_whip_nacked_packets_total",
		Help: "RTP sequence numbers asked for again in NACKs sent to WHIP publishers.",
	})

	// WHIPPLIsSent counts picture loss indications sent to WHIP publishers,
	// by reason (start, no_keyframe, loss, corrupt, request).
	WHIPPLIsSent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_whip_plis_sent_total",
		Help: "RTCP picture loss indications sent to WHIP publishers, by reason.",
	}, []string{"reason"})

	// WHIPFramesDropped counts frames (or audio packets) from WHIP
	// publishers that never reached the pipeline, by reason.
	WHIPFramesDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_whip_frames_dropped_total",
		Help: "Frames from WHIP publishers not handed to the pipeline, by reason.",
	}, []string{"reason"})
)

func init() {
	Registry.MustRegister(
		WHIPPacketsLost, WHIPPacketsRecovered, WHIPPacketsDropped,
		WHIPNacksSent, WHIPNackedPackets, WHIPPLIsSent, WHIPFramesDropped,
	)
}
