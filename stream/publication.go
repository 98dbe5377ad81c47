package stream

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/mutstream/mutstream/metrics"
)

// Publication is one publisher's session on a stream: the ingest side writes
// packets in, the pipeline reads them out.
type Publication struct {
	stream   *Stream
	protocol string
	tracks   []Track
	kick     func()
	pipeline Pipeline
	started  time.Time

	packets chan *Packet
	done    chan struct{}

	keyMu sync.Mutex
	keyFn func()

	videoW  atomic.Int32 // decoded size, set by the pipeline
	videoH  atomic.Int32
	keyWait atomic.Int64 // ms the ingest has waited for a keyframe; see keywait.go

	writeMu  sync.Mutex
	needKey  bool
	firstKey time.Time // guarded by writeMu
	kickMu   sync.Once
	stopOnce sync.Once
}

// Stream returns the stream published to.
func (p *Publication) Stream() *Stream { return p.stream }

// Protocol returns the ingest protocol ("rtmp", "whip", "demo").
func (p *Publication) Protocol() string { return p.protocol }

// Tracks returns the published tracks.
func (p *Publication) Tracks() []Track { return p.tracks }

// Track returns the first track of kind k.
func (p *Publication) Track(k Kind) (Track, bool) {
	for _, t := range p.tracks {
		if t.Kind == k {
			return t, true
		}
	}
	return Track{}, false
}

// Packets is what the pipeline reads. It is never closed: select on Done too.
func (p *Publication) Packets() <-chan *Packet { return p.packets }

// Done is closed when the publication ends.
func (p *Publication) Done() <-chan struct{} { return p.done }

// WritePacket queues a packet for the pipeline without blocking. When the
// pipeline falls behind, video is dropped up to the next keyframe (counted).
// It returns ErrClosed once the publication has ended.
func (p *Publication) WritePacket(pkt *Packet) error {
	select {
	case <-p.done:
		return ErrClosed
	default:
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if pkt.Kind == KindVideo && p.needKey {
		if !pkt.Keyframe {
			dropIngestAwaitKey.Inc()
			return nil
		}
		p.needKey = false
		if p.firstKey.IsZero() {
			p.firstKey = time.Now()
		}
	}
	select {
	case p.packets <- pkt:
	default:
		dropPipelineBehind.Inc()
		if pkt.Kind == KindVideo {
			p.needKey = true
		}
	}
	return nil
}

// Close ends the publication: called by ingest when its connection ends. The
// stream goes offline unless another publisher has taken over. It waits for
// the pipeline to stop.
func (p *Publication) Close() {
	st := p.stream
	st.pubMu.Lock()
	defer st.pubMu.Unlock()
	p.stop()
}

// stop ends the pipeline and detaches p from its stream; called with
// stream.pubMu held.
func (p *Publication) stop() {
	p.stopOnce.Do(func() {
		close(p.done)
		if p.pipeline != nil {
			if err := p.pipeline.Close(); err != nil {
				p.stream.log.Warn("pipeline close", "err", err)
			}
		}
		st := p.stream
		st.mu.Lock()
		if st.pub == p {
			st.pub = nil
			st.scheduleEndLocked()
		}
		st.mu.Unlock()
		metrics.Publishers.WithLabelValues(p.protocol).Dec()
		st.log.Info("publisher left", "protocol", p.protocol, "duration", time.Since(p.started).Round(time.Millisecond))
	})
}

func (p *Publication) kickOnce() {
	p.kickMu.Do(func() {
		if p.kick != nil {
			p.kick()
		}
	})
}

// FirstKeyframe returns when the first video keyframe reached the
// publication, zero before that.
func (p *Publication) FirstKeyframe() time.Time {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	return p.firstKey
}

// Publication returns the stream's current publication, nil when offline.
func (s *Stream) Publication() *Publication { return s.current() }

// SetKeyframeRequester installs how the pipeline asks the publisher for a
// keyframe (a PLI to a WHIP publisher). fn must not block.
func (p *Publication) SetKeyframeRequester(fn func()) {
	p.keyMu.Lock()
	p.keyFn = fn
	p.keyMu.Unlock()
}

// RequestKeyframe asks the publisher for a keyframe where its protocol can
// (WHIP); it does nothing for RTMP.
func (p *Publication) RequestKeyframe() {
	p.keyMu.Lock()
	fn := p.keyFn
	p.keyMu.Unlock()
	if fn != nil {
		fn()
	}
}

// SetVideoSize records the source's decoded picture size, which the ingest
// protocol may not know (WHIP), for the API.
func (p *Publication) SetVideoSize(w, h int) {
	p.videoW.Store(int32(w))
	p.videoH.Store(int32(h))
}
