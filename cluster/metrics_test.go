package cluster

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// pullSeries returns the mediad_edge_pulls values of stream name.
func pullSeries(name string) []float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() { metrics.EdgePulls.Collect(ch); close(ch) }()
	var out []float64
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			continue
		}
		for _, l := range d.GetLabel() {
			if l.GetName() == "stream" && l.GetValue() == name {
				out = append(out, d.GetGauge().GetValue())
			}
		}
	}
	return out
}

// TestCountPullAfterDelete: a pull that ends after its edge stream
// deleted the stream's series does not bring the series back (at -1).
func TestCountPullAfterDelete(t *testing.T) {
	done := countPull("count-pull-test", stream.CodecH264)
	if got := pullSeries("count-pull-test"); len(got) != 1 || got[0] != 1 {
		t.Fatalf("one pull counted: %v, want [1]", got)
	}
	metrics.EdgePulls.DeletePartialMatch(prometheus.Labels{"stream": "count-pull-test"})
	done()
	if got := pullSeries("count-pull-test"); len(got) != 0 {
		t.Fatalf("after the stream's series went and its pull ended: %v, want none", got)
	}
}
