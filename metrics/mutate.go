package metrics

import "github.com/prometheus/client_golang/prometheus"

var (
	// MutationFailures counts frames whose mutation chain failed, by
	// stream and reason (convert: the frame could not be made writable or
	// converted for the ops; build: no chain for the frame's size and
	// format; apply: the chain failed on the frame). Such a frame is never
	// encoded: the last good mutated frame or a black one is, as
	// mutations.on_error says.
	MutationFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_mutation_failures_total",
		Help: "Frames whose mutation chain failed and were replaced by the last good mutated frame or a black one (mutations.on_error), by stream and reason (convert, build, apply).",
	}, []string{"stream", "reason"})

	// MutateSeconds is the time one frame spends in its mutation chain.
	MutateSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mediad_mutate_seconds",
		Help:    "Time to run one frame through its mutation chain, by backend (cpu, cuda).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
	}, []string{"backend"})

	// HardwareFallbacks counts streams moved off a GPU stage while running
	// (NVDEC failing mid-stream, scale_cuda failing), by stage.
	HardwareFallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_hardware_fallbacks_total",
		Help: "Streams moved from a GPU stage to the CPU while running (decode: NVDEC failing mid-stream; scale: scale_cuda failing).",
	}, []string{"stage"})
)

// The analyze op's measures of each stream's latest frame.
var (
	AnalyzeLuma = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_analyze_mean_luma",
		Help: "Mean luma (0..255) of the latest frame an analyze op measured, by stream.",
	}, []string{"stream"})
	AnalyzeMotion = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_analyze_motion",
		Help: "Motion energy (mean absolute luma difference with the previous frame, 0..1) of the latest analyzed frame, by stream.",
	}, []string{"stream"})
	AnalyzeSceneScore = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_analyze_scene_score",
		Help: "Scene-cut score (luma histogram difference with the previous frame, 0..1) of the latest analyzed frame, by stream.",
	}, []string{"stream"})
)

// DeleteAnalyze removes streamName's analyze gauges, for when its chain
// loses the op or its pipeline ends.
func DeleteAnalyze(streamName string) {
	for _, v := range []*prometheus.GaugeVec{AnalyzeLuma, AnalyzeMotion, AnalyzeSceneScore} {
		v.DeleteLabelValues(streamName)
	}
}

func init() {
	Registry.MustRegister(MutationFailures, MutateSeconds, HardwareFallbacks, AnalyzeLuma, AnalyzeMotion, AnalyzeSceneScore)
}
