package metrics

import "github.com/prometheus/client_golang/prometheus"

// SessionsExpired counts WebRTC sessions that mediad ended because their
// peer went silent without a DELETE: ICE failed, or consent freshness
// (RFC 7675) expired.
var SessionsExpired = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "mediad_webrtc_sessions_expired_total",
	Help: "WebRTC sessions ended because the peer went silent, by kind (whip, whep) and reason (ice_failed, consent).",
}, []string{"kind", "reason"})

// KeyframeWaitMs is how long each stream's video has waited for a
// keyframe it asked its publisher for; 0 when none is awaited.
var KeyframeWaitMs = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "mediad_keyframe_wait_ms",
	Help: "How long a stream's viewers have been held on the last good frame, waiting for a keyframe from the publisher (ms; 0 when none is awaited).",
}, []string{"stream"})

func init() {
	Registry.MustRegister(SessionsExpired, KeyframeWaitMs)
	perStream = append(perStream, KeyframeWaitMs)
}
