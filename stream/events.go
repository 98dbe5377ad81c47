package stream

import (
	"sync"
)

// eventBus fans a stream's events (JSON objects, such as what analysis
// finds) out to subscribers: server-sent event clients and viewers' data
// channels. A subscriber that falls behind loses events, counted.
type eventBus struct {
	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

// EmitEvent hands one JSON-encoded event to every subscriber without
// waiting for any of them.
func (s *Stream) EmitEvent(data []byte) {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	for ch := range s.events.subs {
		select {
		case ch <- data:
		default:
			dropSlowEvents.Inc()
		}
	}
}

// SubscribeEvents returns a channel of the stream's events (size bounds how
// many may wait) and a func that ends the subscription. The channel is
// never closed.
func (s *Stream) SubscribeEvents(size int) (<-chan []byte, func()) {
	if size <= 0 {
		size = 64
	}
	ch := make(chan []byte, size)
	// A stream with subscribers is not freed, so one subscribed now
	// keeps it (the hub checks subs under the same lock).
	s.events.mu.Lock()
	if s.events.subs == nil {
		s.events.subs = map[chan []byte]struct{}{}
	}
	s.events.subs[ch] = struct{}{}
	s.events.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.events.mu.Lock()
			delete(s.events.subs, ch)
			n := len(s.events.subs)
			s.events.mu.Unlock()
			if n == 0 {
				s.release()
			}
		})
	}
}
