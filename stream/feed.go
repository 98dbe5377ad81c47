package stream

import (
	"sync"
	"sync/atomic"
	"time"
)

// FeedInfo describes what a Feed carries.
type FeedInfo struct {
	// Name is the rung name ("720p") for video, "audio" for audio.
	Name    string `json:"name"`
	Kind    Kind   `json:"-"`
	Codec   Codec  `json:"codec"`
	Width   int    `json:"width,omitempty"`
	Height  int    `json:"height,omitempty"`
	FPS     int    `json:"fps,omitempty"`
	Bitrate int    `json:"bitrate,omitempty"` // target, bits per second
	// LowFPSOf names the rung this feed is the frame-rate-capped variant
	// of: the same pictures at the same size, at a lower frame rate and
	// bitrate (a viewer whose link is too thin for that rung watches it
	// instead). Empty for every other feed, and then left out of JSON.
	LowFPSOf string `json:"low_fps_of,omitempty"`
}

// DefaultReaderQueue is the number of packets a reader may hold before it
// counts as too slow.
const DefaultReaderQueue = 256

// Feed fans one sequence of encoded packets (one rung's video, or the audio)
// out to any number of Readers. Write never blocks: a reader whose queue is
// full loses packets up to the next keyframe, and the feed is asked for one.
type Feed struct {
	info FeedInfo

	mu      sync.Mutex
	readers map[*Reader]struct{}
	keyFn   func()
	gone    bool
	goneCh  chan struct{}
	leaving bool
	leaveCh chan struct{}
	packets atomic.Uint64
	bytes   atomic.Uint64
	// The rate written: the latest windows of rateWindow.
	rateFrom  time.Time
	rateBytes int
	rateWins  [rateWindows]float64
	rateN     int // windows measured

	// sinkMu serialises Write's calls to readers' sinks, and guards
	// sinking, the readers of the packet being written that take it in a
	// sink (sink.go).
	sinkMu  sync.Mutex
	sinking []*Reader
}

// rateWindows is how many windows Rate averages.
const rateWindows = 4

// rateWindow is the window Rate measures over.
const rateWindow = time.Second

// NewFeed returns an empty feed.
func NewFeed(info FeedInfo) *Feed {
	return &Feed{info: info, readers: map[*Reader]struct{}{}, goneCh: make(chan struct{}), leaveCh: make(chan struct{})}
}

// Info returns what the feed carries.
func (f *Feed) Info() FeedInfo { return f.info }

// SetKeyframeRequester installs the function RequestKeyframe calls. The
// producer (an encoder) owns rate limiting; fn must not block, nor write
// to this feed (Write may call it).
func (f *Feed) SetKeyframeRequester(fn func()) {
	f.mu.Lock()
	f.keyFn = fn
	f.mu.Unlock()
}

// RequestKeyframe asks the producer for an IDR as soon as it can.
func (f *Feed) RequestKeyframe() {
	f.mu.Lock()
	fn := f.keyFn
	f.mu.Unlock()
	if fn != nil {
		fn()
	}
}

// Write hands p to every reader without waiting for any of them.
func (f *Feed) Write(p *Packet) {
	f.packets.Add(1)
	f.bytes.Add(uint64(len(p.Data)))
	askKey := false
	now := time.Now()
	f.sinkMu.Lock()
	defer f.sinkMu.Unlock()
	f.mu.Lock()
	f.rateBytes += len(p.Data)
	switch el := now.Sub(f.rateFrom); {
	case f.rateFrom.IsZero():
		f.rateFrom, f.rateBytes = now, len(p.Data)
	case el >= rateWindow:
		f.rateWins[f.rateN%rateWindows] = float64(f.rateBytes-len(p.Data)) * 8 / el.Seconds()
		f.rateN++
		f.rateFrom, f.rateBytes = now, len(p.Data)
	}
	for r := range f.readers {
		if r.toSink(p) {
			f.sinking = append(f.sinking, r)
			continue
		}
		if r.offer(p) {
			askKey = true
		}
	}
	fn := f.keyFn
	f.mu.Unlock()
	if f.sinkAll(p) {
		askKey = true
	}
	if askKey && fn != nil {
		fn()
	}
}

// Subscribe adds a reader with a queue of the given size (DefaultReaderQueue
// when size <= 0). A video reader starts at the next keyframe, which is
// requested at once.
func (f *Feed) Subscribe(size int) *Reader {
	if size <= 0 {
		size = DefaultReaderQueue
	}
	r := &Reader{feed: f, ch: make(chan *Packet, size), needKey: f.info.Kind == KindVideo}
	needKey := r.needKey
	f.mu.Lock()
	f.readers[r] = struct{}{}
	fn := f.keyFn
	f.mu.Unlock()
	if needKey && fn != nil {
		fn()
	}
	return r
}

// Readers returns how many readers the feed has.
func (f *Feed) Readers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.readers)
}

// Rate returns the rate written in bits per second over the latest
// seconds (up to rateWindows of them, the first second left out: an
// encoder's start, with its first keyframe, says little about its rate);
// 0 until three seconds are measured.
func (f *Feed) Rate() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rateN < 3 {
		return 0
	}
	n := min(f.rateN-1, rateWindows)
	sum := 0.0
	for i := 0; i < n; i++ {
		sum += f.rateWins[(f.rateN-1-i)%rateWindows]
	}
	return int(sum / float64(n))
}

// Stats returns the packets and bytes written so far.
func (f *Feed) Stats() (packets, bytes uint64) {
	return f.packets.Load(), f.bytes.Load()
}

// Gone is closed when the feed leaves its stream's ladder (a new publisher
// with a smaller source); readers should move to another feed.
func (f *Feed) Gone() <-chan struct{} { return f.goneCh }

// Leaving is closed when the feed is about to leave the ladder while its
// packets still flow for a moment: readers should switch to another feed
// now, at that feed's next keyframe, with no gap, before Gone.
func (f *Feed) Leaving() <-chan struct{} { return f.leaveCh }

// Leave announces that the feed will soon leave the ladder (Leaving). It
// goes on carrying what is written until the ladder drops it.
func (f *Feed) Leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.leaving {
		f.leaving = true
		close(f.leaveCh)
	}
}

// isLeaving reports whether Leave was called: such a feed is never reused
// by a new ladder.
func (f *Feed) isLeaving() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leaving
}

func (f *Feed) retire() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.gone {
		f.gone = true
		close(f.goneCh)
	}
}

func (f *Feed) remove(r *Reader) {
	f.mu.Lock()
	delete(f.readers, r)
	f.mu.Unlock()
}

// Reader is one consumer's bounded queue on a Feed.
type Reader struct {
	feed *Feed
	ch   chan *Packet
	// needKey is guarded by feed.mu.
	needKey bool
	drops   atomic.Uint64
	closed  atomic.Bool
	demand  atomic.Int64 // bps the reader's link carries, 0 = unknown
	// sink, when set, takes packets in Write's goroutine (sink.go);
	// queued counts the packets sent on ch and not yet Done.
	sink   atomic.Pointer[Sink]
	queued atomic.Int64
}

// SetDemand records the bitrate this reader's link carries (its viewer's
// bandwidth estimate), so the producer can fit its encoder to its viewers.
func (r *Reader) SetDemand(bps int) { r.demand.Store(int64(bps)) }

// Demand returns the lowest bitrate among the readers that reported one,
// and how many did: what every viewer of the feed can carry.
func (f *Feed) Demand() (minBps int, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for r := range f.readers {
		d := int(r.demand.Load())
		if d <= 0 {
			continue
		}
		if n == 0 || d < minBps {
			minBps = d
		}
		n++
	}
	return minBps, n
}

// Demands appends to dst the bitrate of every reader that reported one
// (a viewer under automatic control) and returns it with the number of
// readers: what the producer needs to fit its encoder to a quorum of its
// viewers rather than to the slowest.
func (f *Feed) Demands(dst []int) ([]int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for r := range f.readers {
		if d := int(r.demand.Load()); d > 0 {
			dst = append(dst, d)
		}
	}
	return dst, len(f.readers)
}

// C returns the channel packets arrive on. It is never closed; select on it
// together with your own stop signal and Feed.Gone.
func (r *Reader) C() <-chan *Packet { return r.ch }

// Feed returns the feed the reader reads.
func (r *Reader) Feed() *Feed { return r.feed }

// Drops returns the packets this reader lost because it fell behind.
func (r *Reader) Drops() uint64 { return r.drops.Load() }

// Close detaches the reader from its feed. It is safe to call twice.
func (r *Reader) Close() {
	if r.closed.CompareAndSwap(false, true) {
		r.feed.remove(r)
	}
}

// offer queues p, or drops it; it reports whether the reader now waits for a
// keyframe it should ask for. Called with feed.mu held.
func (r *Reader) offer(p *Packet) (wantKey bool) {
	if r.needKey {
		if !p.Keyframe {
			r.drops.Add(1)
			dropAwaitKey.Inc()
			return false
		}
		r.needKey = false
	}
	select {
	case r.ch <- p:
		r.queued.Add(1)
		return false
	default:
	}
	r.drops.Add(1)
	dropSlowViewer.Inc()
	if p.Kind == KindVideo {
		r.needKey = true
		return true
	}
	return false
}
