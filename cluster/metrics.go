package cluster

import (
	"sort"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// countPull counts a pull of stream name in codec in mediad_edge_pulls and
// returns what uncounts it. It keeps the gauge, not its labels: an edge
// stream that ended deleted the stream's series meanwhile, and a look-up
// by labels would bring it back at -1.
func countPull(name string, codec stream.Codec) (done func()) {
	g := metrics.EdgePulls.WithLabelValues(name, string(codec))
	g.Inc()
	return g.Dec
}

func sortNodes(n []NodeInfo) {
	sort.Slice(n, func(i, j int) bool { return n[i].ID < n[j].ID })
}
