// Package metrics declares every Prometheus collector mediad exports, on one
// registry served at /metrics.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Registry holds mediad's collectors plus the Go and process collectors.
var Registry = prometheus.NewRegistry()

var (
	// Publishers counts live publications by ingest protocol.
	Publishers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_publishers",
		Help: "Live publishers, by ingest protocol.",
	}, []string{"protocol"})

	// Viewers counts WHEP viewer sessions by stream.
	Viewers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_viewers",
		Help: "Connected viewer sessions, by stream.",
	}, []string{"stream"})

	// EncodedFrames counts frames out of each rung's encoder.
	EncodedFrames = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_encoded_frames_total",
		Help: "Frames encoded, by stream, rung and codec (h264, vp8).",
	}, []string{"stream", "rung", "codec"})

	// EncodedBytes counts bytes out of each rung's encoder.
	EncodedBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_encoded_bytes_total",
		Help: "Encoded bytes, by stream, rung and codec.",
	}, []string{"stream", "rung", "codec"})

	// RungFPS is each rung's encoded frame rate over the last second.
	RungFPS = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_rung_fps",
		Help: "Encoded frames per second over the last second, by stream, rung and codec.",
	}, []string{"stream", "rung", "codec"})

	// RungBitrate is each rung's encoded bitrate over the last second.
	RungBitrate = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_rung_bitrate_bps",
		Help: "Encoded bits per second over the last second, by stream, rung and codec.",
	}, []string{"stream", "rung", "codec"})

	// EncodeSeconds is the time one frame spends in an encoder.
	EncodeSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mediad_encode_seconds",
		Help:    "Time to encode one frame, by rung and codec.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
	}, []string{"rung", "codec"})

	// DroppedFrames counts frames or packets dropped, by reason.
	DroppedFrames = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_dropped_frames_total",
		Help: "Frames or packets dropped, by reason.",
	}, []string{"reason"})

	// DecodeErrors counts packets the decoder refused, by stream.
	DecodeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_decode_errors_total",
		Help: "Packets the decoder rejected, by stream.",
	}, []string{"stream"})

	// IngestRejected counts refused or failed ingest connections, by
	// protocol and reason.
	IngestRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_ingest_rejected_total",
		Help: "Ingest connections refused or ended by an error, by protocol and reason.",
	}, []string{"protocol", "reason"})

	// HTTPRejected counts refused HTTP requests on the signaling and API
	// endpoints, by endpoint and status.
	HTTPRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_http_rejected_total",
		Help: "Signaling and API requests refused, by endpoint and HTTP status.",
	}, []string{"endpoint", "status"})

	// KeyframeRequests counts on-demand IDR requests by outcome.
	KeyframeRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_keyframe_requests_total",
		Help: "On-demand keyframe requests, by outcome (forced, limited).",
	}, []string{"outcome"})
)

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		Publishers, Viewers, EncodedFrames, EncodedBytes, RungFPS, RungBitrate,
		EncodeSeconds, DroppedFrames, DecodeErrors, IngestRejected, HTTPRejected,
		KeyframeRequests,
	)
}

// AnalyzeEvents counts what the analyze op found, by stream and type.
var AnalyzeEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "mediad_analyze_events_total",
	Help: "Events found by the analyze op (scene_cut, black, frozen, ...), by stream and type.",
}, []string{"stream", "type"})

func init() { Registry.MustRegister(AnalyzeEvents) }

// perStream are the collectors with a "stream" label.
var perStream = []interface {
	DeletePartialMatch(prometheus.Labels) int
}{
	Viewers, EncodedFrames, EncodedBytes, RungFPS, RungBitrate, DecodeErrors, AnalyzeEvents,
	MutationFailures, AnalyzeLuma, AnalyzeMotion, AnalyzeSceneScore,
	RungTargetBitrate, RungViewers, RungPaused, RungPausedSeconds, RungRetunes,
	ViewerEstimate, ViewerRung, ViewerSwitches, ViewerRungSeconds, ViewerPaddingPackets, ViewerPaddingBytes,
	WHIPPacketsLost, WHIPPacketsRecovered,
}

// DeleteStream removes every series of streamName, for when its stream is
// gone: names that come and go leave no series behind.
func DeleteStream(streamName string) {
	for _, v := range perStream {
		v.DeletePartialMatch(prometheus.Labels{"stream": streamName})
	}
}
