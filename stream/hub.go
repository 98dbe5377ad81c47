package stream

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/mutstream/mutstream/metrics"
)

// Pipeline is what turns a Publication into its stream's Feeds. Close stops
// it and waits for everything it started.
type Pipeline interface {
	Close() error
}

// StartFunc starts the pipeline of a new publication. It must return quickly
// and leave the work to goroutines the Pipeline owns.
type StartFunc func(pub *Publication) (Pipeline, error)

// Hub knows every stream by name: who publishes it, and the feeds viewers
// read. A stream stays known (not live) after its publisher leaves, so
// viewers stay attached across a reconnect within the grace period; once it
// has ended and nobody holds it, it is forgotten (see lifecycle.go).
type Hub struct {
	start StartFunc
	log   *slog.Logger
	grace time.Duration

	mu      sync.Mutex
	streams map[string]*Stream
	closed  bool
}

// DefaultGrace is how long a stream whose publisher left waits for it to
// come back before it ends.
const DefaultGrace = 5 * time.Second

// NewHub returns a Hub that starts pipelines with start.
func NewHub(start StartFunc, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.Default()
	}
	return &Hub{start: start, log: log, grace: DefaultGrace, streams: map[string]*Stream{}}
}

// SetGrace sets how long a stream waits for its publisher to come back
// before it ends and its viewers are let go. Call before publishing.
func (h *Hub) SetGrace(d time.Duration) {
	h.mu.Lock()
	h.grace = d
	h.mu.Unlock()
}

// Publish makes pub the stream's publisher, replacing (and kicking) the one
// live now, and starts its pipeline. Authorisation is the caller's job.
// kick is called, once, when another publisher takes over or the hub closes;
// it should end the ingest connection, which then calls Publication.Close.
func (h *Hub) Publish(name, protocol string, tracks []Track, kick func()) (*Publication, error) {
	hasVideo := false
	for _, t := range tracks {
		if t.Kind == KindVideo {
			hasVideo = true
		}
	}
	if !hasVideo {
		return nil, ErrNoVideo
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	st, ok := h.streams[name]
	if !ok {
		st = newStream(name, h.log.With("stream", name), h.grace)
		st.hub = h
		h.streams[name] = st
	}
	st.mu.Lock()
	st.pending++ // the stream is held until this publish is done
	st.mu.Unlock()
	h.mu.Unlock()

	// One publish at a time per stream; never under h.mu.
	st.pubMu.Lock()
	defer st.pubMu.Unlock()
	if old := st.current(); old != nil {
		st.log.Info("publisher taken over", "old", old.protocol, "new", protocol)
		old.kickOnce()
		old.stop()
	}
	pub := &Publication{
		stream:   st,
		protocol: protocol,
		tracks:   append([]Track(nil), tracks...),
		kick:     kick,
		packets:  make(chan *Packet, 1024),
		done:     make(chan struct{}),
		needKey:  true,
		started:  time.Now(),
	}
	p, err := h.start(pub)
	if err != nil {
		st.mu.Lock()
		st.pending--
		if st.pub == nil && st.endTimer == nil {
			// Nobody publishes it: it ends after the grace period
			// like any stream whose publisher left, and is freed.
			st.scheduleEndLocked()
		}
		st.mu.Unlock()
		st.release()
		return nil, fmt.Errorf("start pipeline for %q: %w", name, err)
	}
	pub.pipeline = p
	st.mu.Lock()
	st.pending--
	st.pub = pub
	st.liveSince = pub.started
	st.resumeLocked()
	st.mu.Unlock()
	metrics.Publishers.WithLabelValues(protocol).Inc()
	st.log.Info("stream live", "protocol", protocol)
	return pub, nil
}

// Lookup returns the stream of that name: ErrNotFound when it was never
// published, ErrNotLive (with the stream) when it has no publisher now.
func (h *Hub) Lookup(name string) (*Stream, error) {
	h.mu.Lock()
	st, ok := h.streams[name]
	h.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	if !st.Live() {
		return st, ErrNotLive
	}
	return st, nil
}

// Streams returns every known stream, sorted by name.
func (h *Hub) Streams() []*Stream {
	h.mu.Lock()
	out := make([]*Stream, 0, len(h.streams))
	for _, st := range h.streams {
		out = append(out, st)
	}
	h.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Close kicks every publisher, stops every pipeline (waiting for them) and
// ends every stream, as Drain does.
func (h *Hub) Close() { h.Drain() }
