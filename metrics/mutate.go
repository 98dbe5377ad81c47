package metrics

import "github.com/prometheus/client_golang/prometheus"

var (
	// MutateErrors counts frames whose mutation chain failed; such frames
	// are encoded unmutated.
	MutateErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_mutate_errors_total",
		Help: "Frames whose mutation chain failed (encoded unmutated), by stream.",
	}, []string{"stream"})

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

func init() {
	Registry.MustRegister(MutateErrors, MutateSeconds, HardwareFallbacks)
}
