package metrics

import "github.com/prometheus/client_golang/prometheus"

// Per-rung collectors of the ladder that follows its viewers: rungs nobody
// watches are paused, and each running rung's encoder is retuned to the
// bitrate its viewers' links carry. A rung has one encoder per codec (its
// H.264 encoder and its VP8 twin), told apart by the codec label ("h264",
// "vp8").
var (
	// RungTargetBitrate is the bitrate each rung's encoder targets now.
	RungTargetBitrate = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_rung_target_bitrate_bps",
		Help: "Bitrate the rung's encoder targets now (retuned to its viewers), by stream, rung and codec.",
	}, []string{"stream", "rung", "codec"})

	// RungViewers is the number of readers on each rung's feed.
	RungViewers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_rung_viewers",
		Help: "Readers of the rung's feed, by stream, rung and codec.",
	}, []string{"stream", "rung", "codec"})

	// RungPaused is 1 while a rung is paused for lack of viewers, else 0.
	RungPaused = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_rung_paused",
		Help: "1 while the rung is not encoded because nobody watches it, else 0; by stream, rung and codec.",
	}, []string{"stream", "rung", "codec"})

	// RungPausedSeconds counts the seconds each rung spent paused.
	RungPausedSeconds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_rung_paused_seconds_total",
		Help: "Seconds the rung was not encoded because nobody watched it, by stream, rung and codec.",
	}, []string{"stream", "rung", "codec"})

	// RungRetunes counts the bitrate changes of each rung's encoder.
	RungRetunes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_rung_retunes_total",
		Help: "Times the rung's encoder bitrate was retuned to its viewers, by stream, rung and codec.",
	}, []string{"stream", "rung", "codec"})

	// SourceDecodeResting is 1 while a stream's source video is not
	// decoded because no transcoded rung is watched and no chain runs.
	SourceDecodeResting = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mediad_source_decode_resting",
		Help: "1 while the stream's source video is not decoded (no transcoded rung watched, no mutation chain), else 0; by stream.",
	}, []string{"stream"})
)

func init() {
	perStream = append(perStream, SourceDecodeResting)
	Registry.MustRegister(RungTargetBitrate, RungViewers, RungPaused, RungPausedSeconds, RungRetunes, SourceDecodeResting)
}

// DeleteRung removes every per-rung series of streamName's rung, of every
// codec, for when the rung or its stream goes away.
func DeleteRung(streamName, rung string) {
	match := prometheus.Labels{"stream": streamName, "rung": rung}
	for _, v := range []*prometheus.GaugeVec{RungFPS, RungBitrate, RungTargetBitrate, RungViewers, RungPaused} {
		v.DeletePartialMatch(match)
	}
	RungPausedSeconds.DeletePartialMatch(match)
	RungRetunes.DeletePartialMatch(match)
}
