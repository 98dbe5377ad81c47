package server

import (
	"errors"
	"net/http"

	"github.com/mutstream/mutstream/cluster"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// startPipeline is the hub's start function: an edge's publication gets
// the pulls of its cluster node; any other a transcode pipeline, recorded
// as this node's in the cluster directory when there is one.
func (s *Server) startPipeline(pub *stream.Publication) (stream.Pipeline, error) {
	if s.cluster == nil {
		return s.muts.start(pub)
	}
	if pub.Protocol() == cluster.Protocol {
		return s.cluster.StartEdge(pub)
	}
	release, err := s.cluster.ClaimOrigin(pub)
	if err != nil {
		return nil, err
	}
	p, err := s.muts.start(pub)
	if err != nil {
		release()
		return nil, err
	}
	return &originPipeline{Pipeline: p, release: release}, nil
}

// originPipeline gives up the stream's origin lease when it stops.
type originPipeline struct {
	stream.Pipeline
	release func()
}

// Close stops the pipeline, then releases the lease.
func (p *originPipeline) Close() error {
	err := p.Pipeline.Close()
	p.release()
	return err
}

// prepareOffer readies a stream published on another node for a WHEP
// offer (this node becomes its edge), after the offer passed the rate
// limit and its play check (signaling's before-offer hook): a directory
// that cannot be asked gets 503 with a Retry-After.
func (s *Server) prepareOffer(w http.ResponseWriter, r *http.Request, name string) bool {
	if err := s.cluster.Prepare(r.Context(), name); errors.Is(err, cluster.ErrUnavailable) {
		metrics.HTTPRejected.WithLabelValues("whep", "503").Inc()
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
		w.Header().Set("Retry-After", "2")
		http.Error(w, "cluster directory unavailable: the stream's origin cannot be looked up now, try again", http.StatusServiceUnavailable)
		return false
	}
	return true
}

// localViewers counts the viewers of every stream here, for the node list.
func (s *Server) localViewers() int {
	n := 0
	for _, st := range s.hub.Streams() {
		n += st.Viewers()
	}
	return n
}

// connectSrc returns the cluster's node origins for the pages' CSP, nil
// without a cluster.
func (s *Server) connectSrc() func() []string {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.NodeOrigins
}
