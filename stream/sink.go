package stream

// A Sink takes a packet in the goroutine that writes it to the feed, instead
// of the packet waiting in the reader's queue for the reader's goroutine to
// wake: with many readers, waking each of them for every packet costs more
// than what they do with it. It returns false when it cannot take the packet
// now (its owner is busy): the packet then goes to the reader's queue, and so
// do the packets after it until the reader has handled every queued one
// (Done), so that the reader sees them in order. A sink must not block, and
// must not call into the feed it is set on; it may still be called once just
// after its reader is closed.
type Sink func(*Packet) bool

// SetSink makes fn the reader's sink; nil goes back to the queue alone. A
// reader with a sink calls Done after each packet it takes from C.
func (r *Reader) SetSink(fn Sink) {
	if fn == nil {
		r.sink.Store(nil)
		return
	}
	r.sink.Store(&fn)
}

// Done says the reader has handled one packet it took from C.
func (r *Reader) Done() { r.queued.Add(-1) }

// toSink says whether p goes to the reader's sink: it has one, p passes
// the wait for a keyframe, and nothing the reader was queued is waiting.
// Called with feed.mu held.
func (r *Reader) toSink(p *Packet) bool {
	if r.sink.Load() == nil || r.queued.Load() > 0 {
		return false
	}
	if r.needKey {
		if !p.Keyframe {
			return false // offer counts the drop
		}
		r.needKey = false
	}
	return true
}

// sinkAll hands p to the sinks of f.sinking, outside f.mu, and queues it
// for those that refuse it; it reports whether one of them now waits for
// a keyframe. Called with f.sinkMu held.
func (f *Feed) sinkAll(p *Packet) (wantKey bool) {
	if len(f.sinking) == 0 {
		return false
	}
	// The refused are moved to the front of f.sinking as it is read.
	refused := 0
	for i, r := range f.sinking {
		f.sinking[i] = nil
		if fn := r.sink.Load(); fn != nil && (*fn)(p) {
			continue
		}
		f.sinking[refused] = r
		refused++
	}
	if refused > 0 {
		f.mu.Lock()
		for _, r := range f.sinking[:refused] {
			if _, ok := f.readers[r]; ok && r.offer(p) {
				wantKey = true
			}
		}
		f.mu.Unlock()
	}
	clear(f.sinking[:refused])
	f.sinking = f.sinking[:0]
	return wantKey
}
