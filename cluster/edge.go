package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// edgeCheckEvery is how often an edge stream looks its origin up.
const edgeCheckEvery = 500 * time.Millisecond

// prepareWait bounds how long an offer waits for an edge stream's first
// ladder.
const prepareWait = 5 * time.Second

// Prepare readies stream name for a viewer's offer on this node: nothing
// when it is published here (or nowhere: the offer then gets the usual
// answer); otherwise it starts (or finds) the edge stream that pulls it
// from its origin and waits for the ladder. An error wrapping
// ErrUnavailable means the directory cannot be asked: answer 503 with a
// Retry-After.
func (n *Node) Prepare(ctx context.Context, name string) error {
	if st, err := n.hub.Lookup(name); err == nil {
		if pub := st.Publication(); pub != nil {
			if pub.Protocol() != Protocol {
				metrics.ClusterLookups.WithLabelValues("local").Inc()
				return nil
			}
			// An edge publication: its edge stream may be on its way
			// out (gone from n.edges, closing it); a new one takes the
			// publication over and keeps the viewer.
			_, err := n.edge(name)
			return err
		}
	}
	if !n.cfg.CanEdge() {
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, time.Second)
	o, err := n.dir.Lookup(lctx, name)
	cancel()
	switch {
	case errors.Is(err, ErrUnavailable):
		metrics.ClusterLookups.WithLabelValues("unavailable").Inc()
		return err
	case err != nil:
		metrics.ClusterLookups.WithLabelValues("no_origin").Inc()
		return nil
	case o.Node == n.cfg.NodeID:
		metrics.ClusterLookups.WithLabelValues("local").Inc()
		return nil
	}
	es, err := n.edge(name)
	if err != nil {
		return err
	}
	metrics.ClusterLookups.WithLabelValues("edge").Inc()
	t := time.NewTimer(prepareWait)
	defer t.Stop()
	select {
	case <-es.ready:
		return nil
	case <-es.done:
		return nil // the offer gets the hub's answer
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		if err := es.err(); err != nil {
			return err
		}
		return nil
	}
}

// edge returns the edge stream of name, started if need be.
func (n *Node) edge(name string) (*edgeStream, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	if es := n.edges[name]; es != nil {
		return es, nil
	}
	es := &edgeStream{n: n, name: name, epoch: time.Now(), log: n.log.With("stream", name),
		ready: make(chan struct{}), recheck: make(chan struct{}, 1), kicked: make(chan struct{}), done: make(chan struct{})}
	n.edges[name] = es
	n.wg.Add(1)
	go es.run()
	return es, nil
}

// StartEdge is the start function of an edge's publication (protocol
// Protocol): the pipeline that pulls the rungs its viewers watch.
func (n *Node) StartEdge(pub *stream.Publication) (stream.Pipeline, error) {
	n.mu.Lock()
	es := n.edges[pub.Stream().Name()]
	n.mu.Unlock()
	if es == nil || es.pend.origin.Node == "" {
		return nil, errors.New("cluster: an edge publication without its edge stream")
	}
	p := newEdgePipeline(n, pub, es.pend.origin, es.pend.ladder, es.epoch, es.pullFailed)
	return p, nil
}

// edgeStream keeps a stream published here by an edge publication while
// it has an origin elsewhere and viewers here: it follows the origin
// through the directory, publishes again (same feeds, so viewers stay)
// when another node becomes the origin, and lets viewers wait through the
// hub's grace period while there is none.
type edgeStream struct {
	n       *Node
	name    string
	epoch   time.Time
	log     *slog.Logger
	ready   chan struct{}
	recheck chan struct{}
	kicked  chan struct{}
	kickMu  sync.Once
	done    chan struct{}
	// pend is what StartEdge reads, set by run before each Publish.
	pend struct {
		origin Origin
		ladder []stream.FeedInfo
	}
	errMu   sync.Mutex
	lastErr error
	// stale is set when the origin's ladder changed: it is fetched and
	// published again (feeds that stay keep their viewers).
	stale atomic.Bool
}

// pullFailed: a pull ended on its own; noRung when the origin no longer
// has its rung (its ladder changed).
func (es *edgeStream) pullFailed(noRung bool) {
	if noRung {
		es.stale.Store(true)
	}
	es.poke()
}

// republish reports whether the edge publication must be made (again)
// from the origin: there is none, the origin changed, or its ladder did.
// It clears the stale mark in every case, so a publication made for one
// reason is not made again at the next check for another that it already
// covers.
func (es *edgeStream) republish(none, newOrigin bool) bool {
	stale := es.stale.Swap(false)
	return none || newOrigin || stale
}

func (es *edgeStream) poke() {
	select {
	case es.recheck <- struct{}{}:
	default:
	}
}

func (es *edgeStream) setErr(err error) {
	es.errMu.Lock()
	es.lastErr = err
	es.errMu.Unlock()
}

func (es *edgeStream) err() error {
	es.errMu.Lock()
	defer es.errMu.Unlock()
	return es.lastErr
}

func (es *edgeStream) kick() { es.kickMu.Do(func() { close(es.kicked) }) }

func (es *edgeStream) run() {
	n := es.n
	defer n.wg.Done()
	defer close(es.done)
	var pub *stream.Publication
	var cur Origin
	closePub := func(why string) {
		if pub != nil {
			es.log.Info("edge publication ends", "why", why)
			pub.Close()
			pub = nil
		}
	}
	// On the way out: first out of n.edges, so that no offer is handed
	// this dying stream (Prepare starts a new one), then the publication
	// closed, then the gauges of the name deleted unless a new edge
	// stream of the name has come meanwhile (its pulls count there).
	defer func() {
		n.mu.Lock()
		mine := n.edges[es.name] == es
		if mine {
			delete(n.edges, es.name)
		}
		n.mu.Unlock()
		closePub("edge stream done")
		if !mine {
			return
		}
		n.mu.Lock()
		if n.edges[es.name] == nil {
			metrics.EdgePulls.DeletePartialMatch(prometheus.Labels{"stream": es.name}) // under n.mu: a new edge stream of the name waits
		}
		n.mu.Unlock()
	}()
	var noOrigin, idle time.Time
	readyOnce := sync.Once{}
	t := time.NewTicker(edgeCheckEvery)
	defer t.Stop()
	for {
		now := time.Now()
		ctx, cancel := context.WithTimeout(n.ctx, time.Second)
		o, err := n.dir.Lookup(ctx, es.name)
		cancel()
		switch {
		case errors.Is(err, ErrUnavailable):
			es.setErr(err) // pulls under way go on
		case err != nil || o.Node == n.cfg.NodeID:
			if noOrigin.IsZero() {
				noOrigin = now
			}
			if now.Sub(noOrigin) >= n.cfg.Lease {
				// A lease long: a record that Redis dropped while
				// away is claimed again by its origin meanwhile.
				closePub("no origin")
			}
			if now.Sub(noOrigin) > n.cfg.EdgeIdle {
				return
			}
		case es.republish(pub == nil, o.Epoch != cur.Epoch):
			noOrigin = time.Time{}
			closePub("origin " + o.Node + " (new, or its ladder changed)")
			ladder, err := n.fetchLadder(n.ctx, o, es.name)
			if err != nil {
				es.setErr(err)
				es.log.Debug("origin ladder", "origin", o.Node, "err", err)
				break
			}
			es.pend.origin, es.pend.ladder = o, ladder
			p, err := n.hub.Publish(es.name, Protocol, []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}, {Kind: stream.KindAudio, Codec: stream.CodecOpus}}, es.kick)
			if err != nil {
				es.setErr(err)
				break
			}
			pub, cur = p, o
			es.setErr(nil)
			es.log.Info("edge publication from origin", "origin", o.Node, "rungs", len(ladder))
			readyOnce.Do(func() { close(es.ready) })
		default:
			noOrigin = time.Time{}
		}
		if st, err := n.hub.Lookup(es.name); st == nil || st.Viewers() == 0 || errors.Is(err, stream.ErrNotFound) {
			if idle.IsZero() {
				idle = now
			}
			if now.Sub(idle) > n.cfg.EdgeIdle {
				return
			}
		} else {
			idle = time.Time{}
		}
		select {
		case <-n.ctx.Done():
			return
		case <-es.kicked:
			pub = nil // a publisher here took the stream over: the hub stops ours
			return
		case <-es.recheck:
		case <-t.C:
		}
	}
}

// maxLadderBody bounds the origin's stream info read.
const maxLadderBody = 1 << 20

// fetchLadder asks the origin for the stream's rungs.
func (n *Node) fetchLadder(ctx context.Context, o Origin, name string) ([]stream.FeedInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL+"/api/v1/streams/"+url.PathEscape(name), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+n.cfg.Token)
	resp, err := n.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("origin %s: %w", o.Node, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLadderBody))
	if err != nil {
		return nil, fmt.Errorf("origin %s: %w", o.Node, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("origin %s answered %d for stream %q", o.Node, resp.StatusCode, name)
	}
	ladder, err := parseLadder(body)
	if err != nil {
		return nil, fmt.Errorf("origin %s: stream %q: %w", o.Node, name, err)
	}
	return ladder, nil
}

// parseLadder reads the ladder an edge installs from the origin's stream
// info: every feed of every codec an edge can pull (feeds, each with its
// codec, in the order of codecs), or the H.264 rungs alone from an origin
// that lists no feeds.
func parseLadder(body []byte) ([]stream.FeedInfo, error) {
	var in struct {
		Live   bool              `json:"live"`
		Rungs  []stream.FeedInfo `json:"rungs"`
		Feeds  []stream.FeedInfo `json:"feeds"`
		Codecs []stream.Codec    `json:"codecs"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("bad stream info: %w", err)
	}
	if len(in.Feeds) == 0 {
		in.Feeds = in.Rungs
	}
	if !in.Live || len(in.Feeds) == 0 {
		return nil, errors.New("not live yet")
	}
	if len(in.Codecs) == 0 {
		in.Codecs = []stream.Codec{stream.CodecH264}
	}
	var out []stream.FeedInfo
	seen := map[stream.Codec]bool{}
	for _, c := range in.Codecs {
		c = feedCodec(stream.FeedInfo{Codec: c})
		if _, ok := pullMime[c]; !ok || seen[c] {
			continue // a codec this edge cannot pull: its viewers get another
		}
		seen[c] = true
		names := map[string]bool{}
		for _, f := range in.Feeds {
			if feedCodec(f) != c || f.Name == "" || names[f.Name] {
				continue
			}
			names[f.Name] = true
			f.Codec = c
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no rung in a codec an edge can pull")
	}
	return out, nil
}
