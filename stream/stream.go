package stream

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Stream is a named live stream: its current publication (if any) and the
// feeds its pipeline writes, which outlive any one publisher.
type Stream struct {
	name string
	log  *slog.Logger

	pubMu sync.Mutex // serialises publish, takeover and close

	mu        sync.Mutex
	pub       *Publication
	liveSince time.Time
	rungs     []*Feed // top (largest) first
	audio     *Feed
	viewers   atomic.Int64
	events    eventBus
	grace     time.Duration
	ended     chan struct{} // closed when the stream ends; replaced on publish
	endTimer  *time.Timer
	hub       *Hub // frees the stream once it has ended and nobody holds it
	pending   int  // publishes under way (guarded by mu)
}

func newStream(name string, log *slog.Logger, grace time.Duration) *Stream {
	if log == nil {
		log = slog.Default()
	}
	return &Stream{name: name, log: log, grace: grace, ended: make(chan struct{})}
}

// Ended is closed when the stream ends: its publisher left and none came
// back within the grace period. Viewers should then leave. Call it again
// after a new publish to get the new episode's channel.
func (s *Stream) Ended() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}

// scheduleEndLocked ends the stream after the grace period unless a
// publisher comes back. Called with s.mu held.
func (s *Stream) scheduleEndLocked() {
	if s.endTimer != nil {
		s.endTimer.Stop()
	}
	ended := s.ended
	s.endTimer = time.AfterFunc(s.grace, func() {
		s.mu.Lock()
		if s.pub == nil && s.ended == ended {
			s.endLocked("grace over")
		}
		s.mu.Unlock()
		s.release()
	})
}

// resumeLocked cancels a pending end, or starts a new episode after one.
// Called with s.mu held when a publisher arrives.
func (s *Stream) resumeLocked() {
	if s.endTimer != nil {
		s.endTimer.Stop()
		s.endTimer = nil
	}
	select {
	case <-s.ended:
		s.ended = make(chan struct{})
	default:
	}
}

// Name returns the stream's name.
func (s *Stream) Name() string { return s.name }

// Logger returns the stream's scoped logger.
func (s *Stream) Logger() *slog.Logger { return s.log }

// Live reports whether the stream has a publisher now.
func (s *Stream) Live() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pub != nil
}

func (s *Stream) current() *Publication {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pub
}

// SetLadder installs the rungs and audio feed a new pipeline will write.
// Feeds whose name and shape are unchanged are kept, so their readers stay;
// others are retired (Feed.Gone closes) and replaced.
func (s *Stream) SetLadder(rungs []FeedInfo, audio FeedInfo) ([]*Feed, *Feed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := map[string]*Feed{}
	for _, f := range s.rungs {
		old[f.info.Name] = f
	}
	out := make([]*Feed, 0, len(rungs))
	for _, info := range rungs {
		info.Kind = KindVideo
		if f, ok := old[info.Name]; ok && f.info == info && !f.isLeaving() {
			out = append(out, f)
			delete(old, info.Name)
			continue
		}
		out = append(out, NewFeed(info))
	}
	for _, f := range old {
		f.retire()
	}
	s.rungs = out
	audio.Kind = KindAudio
	if s.audio == nil || s.audio.info != audio {
		if s.audio != nil {
			s.audio.retire()
		}
		s.audio = NewFeed(audio)
	}
	return append([]*Feed(nil), out...), s.audio
}

// Rungs returns the video feeds, largest first.
func (s *Stream) Rungs() []*Feed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Feed(nil), s.rungs...)
}

// Rung returns the video feed of that name; "" means the top rung.
func (s *Stream) Rung(name string) (*Feed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rungs) == 0 {
		return nil, ErrNotLive
	}
	if name == "" {
		return s.rungs[0], nil
	}
	for _, f := range s.rungs {
		if f.info.Name == name {
			return f, nil
		}
	}
	return nil, ErrNoSuchRung
}

// Audio returns the audio feed, nil before the first pipeline.
func (s *Stream) Audio() *Feed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.audio
}

// AddViewer counts a viewer in; the returned func counts it out. The last
// viewer of an ended stream to leave lets the hub free it.
func (s *Stream) AddViewer() (remove func()) {
	s.viewers.Add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			if s.viewers.Add(-1) == 0 {
				s.release()
			}
		})
	}
}

// Viewers returns the number of viewers attached.
func (s *Stream) Viewers() int { return int(s.viewers.Load()) }

// Info is a snapshot of a stream for the API.
type Info struct {
	Name     string     `json:"name"`
	Live     bool       `json:"live"`
	Protocol string     `json:"protocol,omitempty"`
	Source   *Track     `json:"source,omitempty"`
	Audio    *Track     `json:"source_audio,omitempty"`
	Rungs    []FeedInfo `json:"rungs"`
	Viewers  int        `json:"viewers"`
	Uptime   float64    `json:"uptime_seconds"`
	// KeyframeWaitMs is how long viewers have been held on the last good
	// frame, waiting for a keyframe asked of the publisher; 0 when none is
	// awaited.
	KeyframeWaitMs int64 `json:"keyframe_wait_ms"`
}

// Info returns a snapshot of the stream.
func (s *Stream) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := Info{Name: s.name, Live: s.pub != nil, Viewers: int(s.viewers.Load()), Rungs: []FeedInfo{}}
	for _, f := range s.rungs {
		in.Rungs = append(in.Rungs, f.info)
	}
	if s.pub != nil {
		in.Protocol = s.pub.protocol
		in.Uptime = time.Since(s.liveSince).Seconds()
		in.KeyframeWaitMs = s.pub.KeyframeWait().Milliseconds()
		if t, ok := s.pub.Track(KindVideo); ok {
			if w, h := s.pub.videoW.Load(), s.pub.videoH.Load(); w > 0 {
				t.Width, t.Height = int(w), int(h)
			}
			in.Source = &t
		}
		if t, ok := s.pub.Track(KindAudio); ok {
			in.Audio = &t
		}
	}
	return in
}
