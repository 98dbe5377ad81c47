package stream

import (
	"sync"

	"github.com/mutstream/mutstream/metrics"
)

// A stream's state lives from its first publish until it has ended (its
// publisher left and none came back within the grace period, or the hub
// drained) and nobody holds it: no publish under way, no viewer, no event
// subscriber. The hub then forgets it and deletes its metric series, so
// stream names that come and go leave nothing behind.

// endLocked closes the ended channel once, telling viewers to leave.
// Called with s.mu held.
func (s *Stream) endLocked(why string) {
	if s.endTimer != nil {
		s.endTimer.Stop()
		s.endTimer = nil
	}
	select {
	case <-s.ended:
	default:
		close(s.ended)
		s.log.Info("stream ended", "why", why, "grace", s.grace)
	}
}

// endNow ends the stream at once when it has no publisher.
func (s *Stream) endNow(why string) {
	s.mu.Lock()
	if s.pub == nil {
		s.endLocked(why)
	}
	s.mu.Unlock()
	s.release()
}

// release asks the hub to free s if nothing holds it any more.
func (s *Stream) release() {
	if s.hub != nil {
		s.hub.release(s)
	}
}

// idle reports whether nothing holds s: it has ended, no publish is
// under way, and it has no viewer nor event subscriber.
func (s *Stream) idle() bool {
	s.mu.Lock()
	ended := false
	select {
	case <-s.ended:
		ended = true
	default:
	}
	held := s.pub != nil || s.pending > 0 || s.viewers.Load() > 0
	s.mu.Unlock()
	s.events.mu.Lock()
	subs := len(s.events.subs)
	s.events.mu.Unlock()
	return ended && !held && subs == 0
}

// release forgets st, and deletes its metric series, once it is idle.
// Lock order: h.mu, then the stream's locks.
func (h *Hub) release(st *Stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams[st.name] != st || !st.idle() {
		return
	}
	delete(h.streams, st.name)
	// Under h.mu: a new stream of the same name is made under it too, so
	// its series are never the ones deleted here.
	metrics.DeleteStream(st.name)
	st.log.Debug("stream state freed")
}

// Len returns the number of streams the hub knows (live, in their grace
// period, or ended and still held by a viewer).
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.streams)
}

// Live returns the number of streams with a publisher now.
func (h *Hub) Live() int {
	n := 0
	for _, st := range h.Streams() {
		if st.Live() {
			n++
		}
	}
	return n
}

// Drain refuses new publishers from now on, kicks every publisher (waiting
// for its pipeline to stop) and ends every stream at once, so that viewers
// are told "ended" and leave. It does not wait for the viewers.
func (h *Hub) Drain() {
	h.mu.Lock()
	h.closed = true
	streams := make([]*Stream, 0, len(h.streams))
	for _, st := range h.streams {
		streams = append(streams, st)
	}
	h.mu.Unlock()
	// Streams at once, each in its own goroutine: a pipeline that takes
	// its time to stop does not keep other streams' viewers waiting.
	var wg sync.WaitGroup
	for _, st := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st.pubMu.Lock()
			if pub := st.current(); pub != nil {
				pub.kickOnce()
				pub.stop()
			}
			st.pubMu.Unlock()
			st.endNow("server shutting down")
		}()
	}
	wg.Wait()
}
