package stream

import "github.com/mutstream/mutstream/metrics"

// The drop counters of the packet path, resolved once rather than looked up
// by label for every packet dropped.
var (
	dropAwaitKey       = metrics.DroppedFrames.WithLabelValues("await_keyframe")
	dropSlowViewer     = metrics.DroppedFrames.WithLabelValues("slow_viewer")
	dropSlowEvents     = metrics.DroppedFrames.WithLabelValues("slow_event_subscriber")
	dropIngestAwaitKey = metrics.DroppedFrames.WithLabelValues("ingest_await_keyframe")
	dropPipelineBehind = metrics.DroppedFrames.WithLabelValues("pipeline_behind")
)
