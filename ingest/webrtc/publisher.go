package webrtc

import (
	"log/slog"
	"sync"

	pion "github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/stream"
)

// Want is what the publisher's offer announced.
type Want struct {
	Video, Audio bool
}

// Publisher turns one WHIP PeerConnection's incoming tracks into a stream
// publication on the Hub. It owns its goroutines (one loop, and an RTP and
// an RTCP reader per track) but never the PeerConnection, which signaling
// closes.
type Publisher struct {
	cfg  Config
	hub  *stream.Hub
	name string
	pc   *pion.PeerConnection
	want Want
	kick func()
	log  *slog.Logger

	in     chan rtpIn // a track's arrival, then its packets, in order
	srs    chan senderReport
	ended  chan *trackState
	keyReq chan struct{}

	closeCh   chan struct{}
	closeOnce sync.Once
	kickCh    chan struct{}
	kickOnce  sync.Once
	stopping  chan struct{} // closed when the loop starts shutting down
	done      chan struct{}

	mu      sync.Mutex
	stopped bool          // no more tracks are taken
	tracks  []*trackState // guarded by mu; the loop owns their media state
	readers sync.WaitGroup
	err     error // guarded by mu; set before done closes
}

// NewPublisher installs pc's OnTrack handler (call it before the answer is
// set) and starts the loop that publishes to hub under name once the
// tracks want announces are in. kick is passed on to Hub.Publish: it is
// called when another publisher takes over, and must not block; the
// Publisher ends then too.
func NewPublisher(cfg Config, hub *stream.Hub, name string, pc *pion.PeerConnection, want Want, kick func(), log *slog.Logger) *Publisher {
	if log == nil {
		log = slog.Default()
	}
	p := &Publisher{
		cfg:      cfg.withDefaults(),
		hub:      hub,
		name:     name,
		pc:       pc,
		want:     want,
		kick:     kick,
		log:      log.With("component", "whip", "stream", name),
		in:       make(chan rtpIn, 256),
		srs:      make(chan senderReport, 16),
		ended:    make(chan *trackState, 4),
		keyReq:   make(chan struct{}, 1),
		closeCh:  make(chan struct{}),
		kickCh:   make(chan struct{}),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	pc.OnTrack(p.onTrack)
	go p.run()
	return p
}

// Done is closed when publishing has ended: kicked by a takeover, the video
// track ended, nothing arrived in time, or Close.
func (p *Publisher) Done() <-chan struct{} { return p.done }

// Err says why publishing ended; nil while it runs.
func (p *Publisher) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close ends the publication and waits for every goroutine the Publisher
// started. It does not close the PeerConnection. It is safe to call more
// than once, and from any goroutine but the PeerConnection's callbacks.
func (p *Publisher) Close() {
	p.closeOnce.Do(func() { close(p.closeCh) })
	<-p.done
}

// onKick is what the Hub calls on a takeover, with the stream's publish
// lock held: it only signals.
func (p *Publisher) onKick() {
	p.kickOnce.Do(func() {
		close(p.kickCh)
		if p.kick != nil {
			p.kick()
		}
	})
}

// requestKeyframe is the publication's keyframe requester: it never blocks.
func (p *Publisher) requestKeyframe() {
	select {
	case p.keyReq <- struct{}{}:
	default:
	}
}
