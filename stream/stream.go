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

// SetLadder installs the video feeds and audio feed a new pipeline will
// write. A video feed is identified by its rung name and codec (FeedInfo
// Name and Codec; an empty Codec means H.264): "720p" in H.264 and "720p"
// in VP8 are two feeds. Feeds whose name, codec and shape are unchanged
// are kept, so their readers stay; others are retired (Feed.Gone closes)
// and replaced. The feeds are returned in the order of rungs; within one
// codec, rungs should come largest first.
func (s *Stream) SetLadder(rungs []FeedInfo, audio FeedInfo) ([]*Feed, *Feed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := map[feedKey]*Feed{}
	for _, f := range s.rungs {
		old[keyOf(f.info)] = f
	}
	out := make([]*Feed, 0, len(rungs))
	for _, info := range rungs {
		info.Kind = KindVideo
		k := keyOf(info)
		if f, ok := old[k]; ok && f.info == info && !f.isLeaving() {
			out = append(out, f)
			delete(old, k)
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

// Rungs returns the H.264 video feeds, largest first: RungsFor(CodecH264).
func (s *Stream) Rungs() []*Feed { return s.RungsFor(CodecH264) }

// Rung returns the H.264 video feed of that name; "" means the top H.264
// rung: RungFor(name, CodecH264).
func (s *Stream) Rung(name string) (*Feed, error) { return s.RungFor(name, CodecH264) }

// RungsFor returns the video feeds of codec c, largest first; none when the
// stream offers no such codec now.
func (s *Stream) RungsFor(c Codec) []*Feed {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Feed
	for _, f := range s.rungs {
		if videoCodec(f.info) == videoCodecName(c) {
			out = append(out, f)
		}
	}
	return out
}

// RungFor returns the video feed of that name in codec c; "" means the top
// rung of that codec. ErrNotLive: the stream has no ladder now;
// ErrNoSuchCodec: it has one but nothing in codec c; ErrNoSuchRung: no
// rung of that name in codec c.
func (s *Stream) RungFor(name string, c Codec) (*Feed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rungs) == 0 {
		return nil, ErrNotLive
	}
	c = videoCodecName(c)
	found := false
	for _, f := range s.rungs {
		if videoCodec(f.info) != c {
			continue
		}
		found = true
		if name == "" || f.info.Name == name {
			return f, nil
		}
	}
	if !found {
		return nil, ErrNoSuchCodec
	}
	return nil, ErrNoSuchRung
}

// Codecs returns the video codecs the stream offers viewers now, H.264
// first, then VP8, then any other in ladder order; none before the first
// ladder. A pipeline with VP8 enabled installs VP8 feeds beside the H.264
// ones (encoded only while read), and a VP8 publisher's stream has a VP8
// "source" feed.
func (s *Stream) Codecs() []Codec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codecsLocked()
}

// codecsLocked is Codecs; called with s.mu held.
func (s *Stream) codecsLocked() []Codec {
	out := []Codec{}
	seen := map[Codec]bool{}
	for _, want := range []Codec{CodecH264, CodecVP8, ""} {
		for _, f := range s.rungs {
			c := videoCodec(f.info)
			if seen[c] || (want != "" && c != want) {
				continue
			}
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// feedKey identifies a video feed in a stream's ladder.
type feedKey struct {
	name  string
	codec Codec
}

func keyOf(info FeedInfo) feedKey { return feedKey{info.Name, videoCodec(info)} }

// videoCodec is the codec of a video feed: an empty Codec means H.264.
func videoCodec(info FeedInfo) Codec { return videoCodecName(info.Codec) }

func videoCodecName(c Codec) Codec {
	if c == "" {
		return CodecH264
	}
	return c
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
	Name     string `json:"name"`
	Live     bool   `json:"live"`
	Protocol string `json:"protocol,omitempty"`
	Source   *Track `json:"source,omitempty"`
	Audio    *Track `json:"source_audio,omitempty"`
	// Rungs lists the H.264 video feeds, largest first (Rungs()), as
	// before VP8 came.
	Rungs []FeedInfo `json:"rungs"`
	// Codecs lists the video codecs offered (Codecs()), H.264 first.
	Codecs []Codec `json:"codecs"`
	// Feeds lists every video feed of every codec, each with its codec:
	// the H.264 ones (as in Rungs), then the VP8 ones, each largest first.
	Feeds   []FeedInfo `json:"feeds"`
	Viewers int        `json:"viewers"`
	Uptime  float64    `json:"uptime_seconds"`
	// KeyframeWaitMs is how long viewers have been held on the last good
	// frame, waiting for a keyframe asked of the publisher; 0 when none is
	// awaited.
	KeyframeWaitMs int64 `json:"keyframe_wait_ms"`
}

// Info returns a snapshot of the stream.
func (s *Stream) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := Info{Name: s.name, Live: s.pub != nil, Viewers: int(s.viewers.Load()), Rungs: []FeedInfo{}, Codecs: s.codecsLocked(), Feeds: []FeedInfo{}}
	for _, c := range in.Codecs {
		for _, f := range s.rungs {
			if videoCodec(f.info) != c {
				continue
			}
			in.Feeds = append(in.Feeds, f.info)
			if c == CodecH264 {
				in.Rungs = append(in.Rungs, f.info)
			}
		}
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
