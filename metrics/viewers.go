package metrics

import "github.com/prometheus/client_golang/prometheus"

var (
	// ViewerEstimate is each viewer's smoothed bandwidth estimate.
	ViewerEstimate = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_viewer_estimate_bps",
		Help: "Each viewer's smoothed bandwidth estimate (GCC), by stream and session.",
	}, []string{"stream", "session"})

	// ViewerRung is 1 for the rung each viewer is on.
	ViewerRung = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_viewer_rung",
		Help: "1 for the rung each viewer receives, by stream, session, rung and video codec.",
	}, []string{"stream", "session", "rung", "codec"})

	// ViewersByCodec counts WHEP viewer sessions by stream and the video
	// codec each was answered with.
	ViewersByCodec = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_viewers_by_codec",
		Help: "WHEP viewer sessions, by stream and the video codec negotiated (h264, vp8).",
	}, []string{"stream", "codec"})

	// ViewerSwitches counts rung switches by reason.
	ViewerSwitches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_viewer_switches_total",
		Help: "Rung switches decided for viewers, by stream and reason.",
	}, []string{"stream", "reason"})

	// ViewerRungSeconds counts viewer-seconds spent at each rung.
	ViewerRungSeconds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_viewer_rung_seconds_total",
		Help: "Viewer-seconds spent at each rung, by stream, rung and video codec.",
	}, []string{"stream", "rung", "codec"})

	// ViewerPaddingPackets and ViewerPaddingBytes count the probe padding
	// each viewer was sent.
	ViewerPaddingPackets = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_viewer_padding_packets_total",
		Help: "Padding-only RTP packets sent to probe each viewer's link, by stream and session.",
	}, []string{"stream", "session"})
	ViewerPaddingBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_viewer_padding_bytes_total",
		Help: "Bytes (RTP header and padding) of the padding-only packets sent to probe each viewer's link, by stream and session.",
	}, []string{"stream", "session"})

	// UDPWriteDropped counts packets of the WebRTC port's write batches
	// that never left, by reason.
	UDPWriteDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_udp_write_dropped_total",
		Help: "Packets the WebRTC UDP port did not send, by reason: queue (the batch writer fell behind), refused (the system refused the address).",
	}, []string{"reason"})

	// UDPGSODisabled counts the times the WebRTC port's writes found UDP
	// GSO off, by reason.
	UDPGSODisabled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_udp_gso_disabled_total",
		Help: "Times the WebRTC UDP port's batch writer went without UDP GSO, by reason: unsupported (the system lacks it), refused (the system refused a GSO message; its packets went one by one, and GSO stays off).",
	}, []string{"reason"})

	// ViewerResendsDropped counts NACKed packets not sent again, by reason.
	ViewerResendsDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_viewer_resends_dropped_total",
		Help: "Retransmissions asked for by viewers' NACKs and not sent, by reason: budget (over the retransmission share of the estimate), stale (from before a rung switch), late (the link's queue would make it arrive too late).",
	}, []string{"reason"})
)

func init() {
	perStream = append(perStream, ViewersByCodec)
	Registry.MustRegister(ViewersByCodec, ViewerEstimate, ViewerRung, ViewerSwitches, ViewerRungSeconds, ViewerResendsDropped, ViewerPaddingPackets, ViewerPaddingBytes, UDPWriteDropped, UDPGSODisabled)
}
