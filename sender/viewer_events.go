package sender

import (
	"errors"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/adapt"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// onEnded tells the viewer the stream ended, before the loop returns.
func (l *loop) onEnded() {
	l.v.send(controlMessage{Type: "ended"})
	l.v.flushControl(500 * time.Millisecond)
	l.v.log.Info("stream ended: releasing viewer")
}

// onVideo sends a packet of the rung being sent; false when the
// connection is closed.
func (l *loop) onVideo(p *stream.Packet) bool {
	if l.audioOnly && !p.Keyframe {
		return true // audio only: a still picture now and then
	}
	if l.hold.dropping {
		return true // the old rung's frames would only deepen the queue
	}
	n, err := l.vout.write(p, true)
	l.ad.packets += n
	l.ad.bytes += len(p.Data)
	return err == nil || !errors.Is(err, errClosedPipe)
}

// onPending switches to the pending rung at its first packet, a
// keyframe.
func (l *loop) onPending(p *stream.Packet) {
	l.planned = nil // a decision the clock left is older than this event
	v, ad := l.v, l.ad
	fromFeed := l.cur.Feed()
	from := fromFeed.Info().Name
	l.cur.Close()
	l.cur, l.pending = l.pending, nil
	l.attach(l.cur)
	l.hold.dropping = false
	f := l.cur.Feed()
	if ad.stepsDown(f, fromFeed) {
		ad.switchedDown(time.Now())
	}
	v.feed.Store(f)
	if ad.meter != nil {
		// Packets of the old rung before this keyframe are of
		// no more use to the viewer.
		ad.meter.dropResendsBefore(l.vout.seq)
	}
	l.vout.pace.drop() // the old rung's frames waiting to go
	n, _ := l.vout.write(p, true)
	ad.packets += n
	ad.bytes += len(p.Data)
	ad.setRung(f.Info().Name, f.Info().Bitrate)
	metrics.ViewerRung.DeleteLabelValues(v.st.Name(), v.id[:8], from, string(v.codec))
	metrics.ViewerRung.WithLabelValues(v.st.Name(), v.id[:8], f.Info().Name, string(v.codec)).Set(1)
	v.send(controlMessage{Type: "rung", Rung: f.Info().Name, Reason: l.pendingReason})
	v.log.Info("rung switched", "from", from, "rung", f.Info().Name, "reason", l.pendingReason)
}

// onEvent passes one of the stream's events to a viewer who asked for them.
func (l *loop) onEvent(ev []byte) {
	if dc := l.v.eventsDC.Load(); dc != nil && dc.ReadyState() == webrtc.DataChannelStateOpen {
		if err := dc.SendText(string(ev)); err != nil {
			l.v.log.Debug("event send", "err", err)
		}
	}
}

// onAudio sends an audio packet.
func (l *loop) onAudio(p *stream.Packet) {
	_, _ = l.aout.write(p, false)
}

// decide runs the controller and acts on its decision: on the adaptation
// tick, or at once when the link meter sees a queue build.
func (l *loop) decide() {
	l.planned = nil // a decision the clock left is older than this one
	now, d, f := l.plan()
	l.act(now, d, f)
}

// plan runs the controller and does what its decision asks of the
// sending (demand, pacing, audio only), and returns the decision and the
// feed it wants, which act goes to. Nothing in plan ends or starts a
// reader: the adaptation clock runs it outside the loop (adapt_clock.go).
func (l *loop) plan() (time.Time, adapt.Decision, *stream.Feed) {
	v, ad := l.v, l.ad
	// Its own clock, not a tick's: a tick waiting in its channel can
	// be older than an urgent decision already taken.
	now := time.Now()
	d := ad.update(now, v.st.Name(), v.id[:8])
	if st := ad.shape.Last(); ad.ctrl.State() == adapt.StateCongested {
		v.log.Debug("congestion", "overuse", st.Overuse, "queue_ms", st.QueueDelay.Milliseconds(), "loss", st.Loss, "nacks", st.NACKs, "packets", st.Packets, "estimate", st.Estimate, "rung", d.Rung)
	}
	if demand := ad.demand(); ad.manual {
		// A rung pinned by hand is retuned for nobody, unless the viewer
		// is an edge that speaks for its own viewers.
		l.cur.SetDemand(int(v.relayDemand.Load()))
	} else {
		l.cur.SetDemand(demand)
	}
	l.vout.pace.setRate(ad.paceRate())
	if d.AudioOnly != l.audioOnly {
		l.audioOnly = d.AudioOnly
		v.send(controlMessage{Type: "audio_only", Reason: d.Reason, Rung: fmt.Sprint(l.audioOnly)})
	}
	if l.audioOnly && now.Sub(l.lastStill) >= v.cfg.StillEvery {
		l.lastStill = now
		l.cur.Feed().RequestKeyframe()
	}
	return now, d, ad.feedFor(v.st, v.codec, d)
}

// settled says whether act has nothing to do for f but end a hold: f is
// none, the feed being sent, or the one being switched to.
func (l *loop) settled(f *stream.Feed) bool {
	return f == nil || f == l.cur.Feed() || (l.pending != nil && l.pending.Feed() == f)
}

// act goes to f, the feed the controller wants: a switch at its next
// keyframe, or a hold of the video first while the link's queue drains.
func (l *loop) act(now time.Time, d adapt.Decision, f *stream.Feed) {
	v, ad := l.v, l.ad
	switch {
	case f == nil:
	case f == l.cur.Feed():
		l.hold.target = nil // back to the rung being sent
	case l.pending != nil && l.pending.Feed() == f:
		// The switch is under way: its keyframe is coming.
	case l.hold.target != nil || (ad.stepsDown(f, l.cur.Feed()) && ad.meter != nil && ad.sc.Hold.Queue > 0 && ad.meter.queueNow() > ad.sc.Hold.Queue):
		// A deep queue: stop sending video now and switch once it
		// has drained, so that the new rung's keyframe finds room.
		if l.hold.target == nil {
			l.hold.since, l.hold.peak = now, 0
			v.log.Debug("video held until the queue drains", "queue_ms", ad.meter.queueNow().Milliseconds(), "to", f.Info().Name)
		}
		l.hold.target, l.hold.reason, l.hold.dropping = f, d.Reason, true
		l.vout.pace.drop()
		if l.pending != nil {
			l.pending.Close()
			l.pending = nil
		}
	default:
		l.switchTo(f, d.Reason)
	}
}

// onFeedback, when transport-wide feedback came in, cuts a failing probe
// short and decides at once on a queue building.
func (l *loop) onFeedback(now time.Time) {
	l.ad.checkProbe(now)
	if l.ad.urgent(now, l.v.cfg.DelayDown) {
		l.decide() // a queue builds: do not wait for the next tick
	}
}

// padding says whether the pad tick must run: a probe pads, a video hold
// waits for the queue to drain, or paced video waits to go.
func (l *loop) padding() bool {
	return l.ad.shape.ProbeRate() > 0 || l.hold.target != nil || l.hold.dropping || l.vout.backlog() > 0
}

// onPadTick, every padInterval while padding says so, ends a video hold
// whose queue drained, cuts a failing probe short, decides at once on a
// queue building, and pads while probing.
func (l *loop) onPadTick(now time.Time) {
	v, ad := l.v, l.ad
	_ = l.vout.flush(now) // a closed connection shows at the next video write
	if l.hold.target != nil && (ad.holdDrained(&l.hold, now) || now.Sub(l.hold.since) > ad.sc.Hold.Max) {
		v.log.Debug("video hold ended", "held_ms", now.Sub(l.hold.since).Milliseconds(), "feedback_queue_ms", ad.meter.queueNow().Milliseconds())
		l.switchTo(l.hold.target, l.hold.reason)
		l.hold.target = nil
	}
	if l.hold.dropping && l.hold.target == nil && (l.pending == nil || now.Sub(l.hold.since) > 2*ad.sc.Hold.Max) {
		l.hold.dropping = false // no keyframe came: send what there is
	}
	ad.checkProbe(now)
	if ad.urgent(now, v.cfg.DelayDown) {
		l.decide() // a queue builds: do not wait for the next tick
	}
	if ad.shape.ProbeRate() > 0 && l.vout.backlog() == 0 {
		video := l.cur.Feed().Info().Bitrate
		if l.audioOnly {
			video = 0 // stills only: the probe pads nearly all of its rate
		}
		if n := ad.paddingPackets(now, video, padInterval); n > 0 {
			if l.vout.writePadding(n) == nil {
				l.padPackets.Add(float64(n))
				l.padBytes.Add(float64(n * (paddingSize + 12)))
			}
		}
	}
}

// onRungRequest takes the viewer's choice of rung by name, or "auto".
func (l *loop) onRungRequest(name string) {
	l.planned = nil // a decision the clock left is older than this event
	v, ad := l.v, l.ad
	l.hold = videoHold{} // a choice by hand is not held
	if name == "auto" || name == "" {
		ad.manual, ad.manualFeed = false, ""
		ad.ctrl.ClearManual()
		v.send(controlMessage{Type: "rung", Rung: l.cur.Feed().Info().Name, Reason: "auto"})
		return
	}
	f, err := v.rung(name)
	if err != nil || ad.setManual(f.Info()) != nil {
		v.send(controlMessage{Type: "error", Reason: fmt.Sprintf("no rung %q", name)})
		return
	}
	ad.manual = true
	l.cur.SetDemand(0) // a rung chosen by hand is not retuned for this viewer
	if f == l.cur.Feed() {
		v.send(controlMessage{Type: "rung", Rung: f.Info().Name, Reason: "manual"})
		return
	}
	l.switchTo(f, "manual")
}

// onLeaving: the rung is about to leave the ladder (the source rung, for
// a mutation chain): switch now, while it still plays, at the next
// keyframe of the top rung that stays.
func (l *loop) onLeaving() {
	l.planned = nil // a decision the clock left is older than this event
	l.left = l.cur.Feed()
	for _, f := range l.v.rungs() {
		if f != l.left {
			l.hold = videoHold{}
			l.switchTo(f, "ladder")
			break
		}
	}
}

// onGone: the ladder changed (a new publisher, or the source rung
// withdrawn for a mutation chain): take the rung of the same name, else
// the top one; false when there is none.
func (l *loop) onGone() bool {
	l.planned = nil // a decision the clock left is older than this event
	v, ad := l.v, l.ad
	l.hold = videoHold{}
	f, err := v.rung(l.cur.Feed().Info().Name)
	if err != nil {
		f, err = v.rung("")
	}
	if err != nil {
		return false
	}
	l.cur.Close()
	l.cur = l.subscribe(f)
	v.feed.Store(f)
	ad.setRung(f.Info().Name, f.Info().Bitrate)
	v.send(controlMessage{Type: "rung", Rung: f.Info().Name, Reason: "ladder"})
	v.log.Info("rung left the ladder; viewer moved", "rung", f.Info().Name)
	l.resubscribeAudio()
	return true
}

// onSecondTick, every second, tells the viewer whether the stream is live,
// follows a new audio feed and a moved ladder, and sends the viewer its
// stats.
func (l *loop) onSecondTick() {
	l.secondTick()
	l.resubscribeAudio()
}

// secondTick is the second's work that leaves the readers be: what the
// adaptation clock may run outside the loop.
func (l *loop) secondTick() {
	v, ad := l.v, l.ad
	if v.sendPath != nil && v.pc != nil {
		if srs := v.sendPath.senderReports(time.Now()); len(srs) > 0 {
			if err := v.pc.WriteRTCP(srs); err != nil {
				v.log.Debug("sender reports", "err", err)
			}
		}
	}
	if live := v.st.Live(); live != l.live {
		l.live = live
		if live {
			v.send(controlMessage{Type: "live"})
		} else {
			v.send(controlMessage{Type: "offline"})
		}
	}
	// The ladder changed, or the source rung's measured rate moved.
	if next := adaptRungs(v.rungs()); ladderMoved(ad.rungs, next) {
		ad.rungs = next
		ad.ctrl.SetRungs(ad.rungs)
		if f := l.cur.Feed(); f != nil {
			ad.setRung(f.Info().Name, f.Info().Bitrate)
		}
	}
	in := ad.current()
	v.log.Debug("adapt", "estimate", in.Estimate, "smoothed", ad.ctrl.Smoothed(), "state", in.State, "rung", in.Rung, "loss", in.Loss, "rtt_ms", in.RTTMS, "probe", ad.shape.ProbeRate(), "probe_ok", ad.shape.ProbeOK(), "probe_target", ad.ctrl.ProbeTarget(), "queue_ms", ad.shape.Last().QueueDelay.Milliseconds(), "delivered", ad.shape.Delivered())
	v.send(controlMessage{Type: "stats", Estimate: in.Estimate, Smoothed: ad.ctrl.Smoothed(), State: in.State, Rung: in.Rung})
}
