package sender

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// run is the session's media loop: it waits for the connection, then
// dispatches every event to the loop's state (see loop), which moves
// packets from the feeds to the tracks, runs the viewer's controller, and
// carries out rung switches at keyframes.
func (v *Viewer) run(rung *stream.Feed) {
	// Start reading only once media can flow, so the first keyframe
	// reaches the browser instead of an unconnected transport.
	select {
	case <-v.connected:
	case <-time.After(connectTimeout):
		v.log.Info("viewer never connected", "timeout", connectTimeout)
		v.teardown()
		return
	case <-v.ctx.Done():
		v.teardown()
		return
	}
	v.startDirect()
	l := v.newLoop(rung)
	defer l.close()
	ended := v.st.Ended()
	events, unsubscribe := v.st.SubscribeEvents(64)
	defer unsubscribe()
	// A loop with sinks is decided for, and its second ticked, by the
	// adaptation clock.
	var adaptC, secondC <-chan time.Time
	if !l.sinks {
		adaptTick := time.NewTicker(adaptInterval)
		defer adaptTick.Stop()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		adaptC, secondC = adaptTick.C, tick.C
	}
	// The pad tick runs only while a probe pads or a hold waits for the
	// queue to drain; otherwise the link is looked at when feedback comes.
	padTick := time.NewTicker(padInterval)
	defer padTick.Stop()
	var fed <-chan struct{}
	if l.ad.meter != nil {
		fed = l.ad.meter.Fed()
	}
	for {
		// The loop's state is shared with the sinks (sink.go) while
		// the loop waits: it holds l.mu from each wake to the next wait.
		l.mu.Lock()
		if l.stopped {
			l.mu.Unlock()
			return
		}
		if need := l.padding(); need != l.padOn {
			l.padOn = need
			if need {
				padTick.Reset(padInterval)
			} else {
				padTick.Stop()
			}
		}
		cur, pending, audio := l.cur, l.pending, l.audio
		var pendingC, audioC <-chan *stream.Packet
		var leavingC <-chan struct{}
		if pending != nil {
			pendingC = pending.C()
		} else if cur.Feed() != l.left {
			leavingC = cur.Feed().Leaving()
		}
		if audio != nil {
			audioC = audio.C()
		}
		l.mu.Unlock()
		var ok bool
		select {
		case <-v.ctx.Done():
			return
		case <-ended:
			l.mu.Lock()
			l.onEnded()
			l.mu.Unlock()
			return
		case p := <-cur.C():
			l.mu.Lock()
			ok = l.onVideo(p)
			cur.Done()
		case p := <-pendingC:
			l.mu.Lock()
			l.onPending(p)
			pending.Done()
			ok = true
		case ev := <-events:
			l.mu.Lock()
			l.onEvent(ev)
			ok = true
		case p := <-audioC:
			l.mu.Lock()
			l.onAudio(p)
			audio.Done()
			ok = true
		case <-adaptC:
			l.mu.Lock()
			l.decide()
			ok = true
		case <-fed:
			l.mu.Lock()
			l.onFeedback(time.Now())
			ok = true
		case now := <-padTick.C:
			l.mu.Lock()
			l.onPadTick(now)
			ok = true
		case name := <-v.rungReq:
			l.mu.Lock()
			l.onRungRequest(name)
			ok = true
		case <-leavingC:
			l.mu.Lock()
			l.onLeaving()
			ok = true
		case <-cur.Feed().Gone():
			l.mu.Lock()
			ok = l.onGone()
		case <-secondC:
			l.mu.Lock()
			l.onSecondTick()
			ok = true
		case <-l.poked:
			l.mu.Lock()
			l.onPoke()
			ok = true
		}
		l.mu.Unlock()
		if !ok {
			return
		}
	}
}

// loop is the state of one viewer's media loop, owned by its goroutine:
// the readers of the feeds, the packetizers, the switch under way and the
// video hold. Each event of the loop is one method.
type loop struct {
	v  *Viewer
	ad *viewerAdapt
	q  int // reader queue length

	vout, aout *rtpOut
	// The probe padding sent, for the viewer's series.
	padPackets, padBytes prometheus.Counter

	cur           *stream.Reader // the video feed being sent
	pending       *stream.Reader // the feed being switched to, at its first packet (a keyframe)
	pendingReason string
	audio         *stream.Reader // nil while the stream has no audio feed

	audioOnly bool
	lastStill time.Time
	hold      videoHold
	left      *stream.Feed // the Leaving feed already switched away from
	live      bool

	// mu guards the loop's state against the sinks, which send the
	// packets of cur and audio in the feeds' goroutines while the loop
	// waits (sink.go); poked wakes the loop for what a sink changed.
	mu      sync.Mutex
	poked   chan struct{}
	sinks   bool // the feeds' goroutines may send (a direct writer)
	padOn   bool // the pad tick runs
	stopped bool // a sink's write found the connection closed
	closed  bool
	// With sinks, the adaptation clock decides (adapt_clock.go): planned
	// is a decision it left to the loop, decideDue one it could not take.
	planned   *plannedAct
	decideDue atomic.Bool
	secondDue atomic.Bool // the clock's second tick, left to the loop
	audioDue  atomic.Bool // a new audio feed the clock saw, for the loop to read
}

// newLoop starts reading rung and the stream's audio, and the controller.
func (v *Viewer) newLoop(rung *stream.Feed) *loop {
	l := &loop{v: v, ad: v.adapt, q: v.queue, poked: make(chan struct{}, 1), sinks: v.direct != nil, padOn: true}
	l.mu.Lock() // a sink may run from the first subscription on
	defer l.mu.Unlock()
	cut := cutH264
	if v.codec == stream.CodecVP8 {
		cut = cutVP8
	}
	l.vout = newRTPOut(v.video, cut, 90000, 3000)
	if v.playoutExt != 0 {
		l.vout.setExtension(v.playoutExt, playoutDelay(0, 0))
	}
	l.vout.pace = newPacer() // keyframes at the link's rate, not in one burst
	l.aout = newRTPOut(v.audio, cutWhole, 48000, 960)
	if v.direct != nil {
		l.vout.unit, l.aout.unit = v.sendPath, v.sendPath
	}
	l.padPackets = metrics.ViewerPaddingPackets.WithLabelValues(v.st.Name(), v.id[:8])
	l.padBytes = metrics.ViewerPaddingBytes.WithLabelValues(v.st.Name(), v.id[:8])

	ad := l.ad
	ad.start(adaptRungs(v.rungs()), time.Now())
	if v.manualRung {
		ad.manual = ad.setManual(rung.Info()) == nil
	}
	l.cur = l.subscribe(rung)
	v.feed.Store(rung)
	ad.setRung(rung.Info().Name, rung.Info().Bitrate)
	l.vout.pace.setRate(ad.paceRate())
	metrics.ViewerRung.WithLabelValues(v.st.Name(), v.id[:8], rung.Info().Name, string(v.codec)).Set(1)
	v.send(controlMessage{Type: "rung", Rung: rung.Info().Name, Reason: "initial"})
	if audioFeed := v.st.Audio(); audioFeed != nil {
		l.audio = l.subscribe(audioFeed)
	}
	l.live = v.st.Live()
	if l.sinks && ad.meter != nil {
		fn := l.feedbackSink
		ad.meter.onFed.Store(&fn)
	}
	if l.sinks {
		clock.add(l)
	}
	return l
}

// close stops every reader, forgets the viewer's series and tears the
// session down.
func (l *loop) close() {
	v := l.v
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	clock.remove(l)
	if l.ad.meter != nil {
		l.ad.meter.onFed.Store(nil)
	}
	if v.direct != nil {
		v.direct.close()
	}
	l.cur.Close()
	if l.pending != nil {
		l.pending.Close()
	}
	if l.audio != nil {
		l.audio.Close()
	}
	metrics.ViewerRung.DeletePartialMatch(map[string]string{"session": v.id[:8]})
	metrics.ViewerEstimate.DeleteLabelValues(v.st.Name(), v.id[:8])
	metrics.ViewerPaddingPackets.DeleteLabelValues(v.st.Name(), v.id[:8])
	metrics.ViewerPaddingBytes.DeleteLabelValues(v.st.Name(), v.id[:8])
	v.teardown()
}

// switchTo starts reading f; the switch happens at its first packet,
// a keyframe, asked for now.
func (l *loop) switchTo(f *stream.Feed, reason string) {
	if l.pending != nil {
		if l.pending.Feed() == f {
			return
		}
		l.pending.Close()
		l.pending = nil
	}
	if f == l.cur.Feed() {
		return
	}
	l.pending, l.pendingReason = f.Subscribe(l.q), reason
}

// audioMoved returns the stream's audio feed when it is not the one read
// (a new publisher), else nil.
func (l *loop) audioMoved() *stream.Feed {
	if af := l.v.st.Audio(); af != nil && (l.audio == nil || af != l.audio.Feed()) {
		return af
	}
	return nil
}

// resubscribeAudio reads the stream's audio feed when it is new (a new
// publisher).
func (l *loop) resubscribeAudio() {
	if af := l.audioMoved(); af != nil {
		if l.audio != nil {
			l.audio.Close()
		}
		l.audio = l.subscribe(af)
	}
}
