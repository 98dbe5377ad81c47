package sender

import (
	"errors"
	"fmt"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/adapt"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// run is the session's media loop: it moves packets from the feeds to the
// tracks, runs the viewer's controller, and carries out rung switches at
// keyframes.
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
	q := v.queue
	vout := newRTPOut(v.video, &codecs.H264Payloader{}, 90000, 3000)
	if v.playoutExt != 0 {
		vout.extID, vout.extData = v.playoutExt, playoutDelay(0, 0)
	}
	aout := newRTPOut(v.audio, &codecs.OpusPayloader{}, 48000, 960)

	ad := v.adapt
	ad.start(adaptRungs(v.st.Rungs()), time.Now())
	if v.manualRung {
		ad.manual = ad.setManual(rung.Info()) == nil
	}
	cur := rung.Subscribe(q)
	v.feed.Store(rung)
	ad.setRung(rung.Info().Name, rung.Info().Bitrate)
	metrics.ViewerRung.WithLabelValues(v.st.Name(), v.id[:8], rung.Info().Name).Set(1)
	v.send(controlMessage{Type: "rung", Rung: rung.Info().Name, Reason: "initial"})
	var pending *stream.Reader
	pendingReason := ""
	audioFeed := v.st.Audio()
	var audio *stream.Reader
	var audioC <-chan *stream.Packet
	if audioFeed != nil {
		audio = audioFeed.Subscribe(q)
		audioC = audio.C()
	}
	defer func() {
		cur.Close()
		if pending != nil {
			pending.Close()
		}
		if audio != nil {
			audio.Close()
		}
		metrics.ViewerRung.DeletePartialMatch(map[string]string{"session": v.id[:8]})
		metrics.ViewerEstimate.DeleteLabelValues(v.st.Name(), v.id[:8])
		v.teardown()
	}()
	// switchTo starts reading f; the switch happens at its first packet,
	// a keyframe, asked for now.
	switchTo := func(f *stream.Feed, reason string) {
		if pending != nil {
			if pending.Feed() == f {
				return
			}
			pending.Close()
			pending = nil
		}
		if f == cur.Feed() {
			return
		}
		pending, pendingReason = f.Subscribe(q), reason
	}
	audioOnly := false
	var lastStill time.Time
	var hold videoHold
	// decide runs the controller and acts on its decision.
	decide := func() {
		// Its own clock, not a tick's: a tick waiting in its channel can
		// be older than an urgent decision already taken.
		now := time.Now()
		d := ad.update(now, v.st.Name(), v.id[:8])
		if st := ad.shape.Last(); ad.ctrl.State() == adapt.StateCongested {
			v.log.Debug("congestion", "overuse", st.Overuse, "queue_ms", st.QueueDelay.Milliseconds(), "loss", st.Loss, "nacks", st.NACKs, "packets", st.Packets, "estimate", st.Estimate, "rung", d.Rung)
		}
		cur.SetDemand(ad.demand())
		if d.AudioOnly != audioOnly {
			audioOnly = d.AudioOnly
			v.send(controlMessage{Type: "audio_only", Reason: d.Reason, Rung: fmt.Sprint(audioOnly)})
		}
		if audioOnly && now.Sub(lastStill) >= v.cfg.StillEvery {
			lastStill = now
			cur.Feed().RequestKeyframe()
		}
		f := ad.feedFor(v.st, d)
		switch {
		case f == nil:
		case f == cur.Feed():
			hold.target = nil // back to the rung being sent
		case pending != nil && pending.Feed() == f:
			// The switch is under way: its keyframe is coming.
		case hold.target != nil || (ad.stepsDown(f, cur.Feed()) && ad.meter != nil && ad.sc.Hold.Queue > 0 && ad.meter.queueNow() > ad.sc.Hold.Queue):
			// A deep queue: stop sending video now and switch once it
			// has drained, so that the new rung's keyframe finds room.
			if hold.target == nil {
				hold.since, hold.peak = now, 0
				v.log.Debug("video held until the queue drains", "queue_ms", ad.meter.queueNow().Milliseconds(), "to", f.Info().Name)
			}
			hold.target, hold.reason, hold.dropping = f, d.Reason, true
			if pending != nil {
				pending.Close()
				pending = nil
			}
		default:
			switchTo(f, d.Reason)
		}
	}
	live := v.st.Live()
	ended := v.st.Ended()
	events, unsubscribe := v.st.SubscribeEvents(64)
	defer unsubscribe()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	adaptTick := time.NewTicker(adaptInterval)
	defer adaptTick.Stop()
	padTick := time.NewTicker(20 * time.Millisecond)
	defer padTick.Stop()
	var left *stream.Feed // the Leaving feed already switched away from
	for {
		var pendingC <-chan *stream.Packet
		var leavingC <-chan struct{}
		if pending != nil {
			pendingC = pending.C()
		} else if cur.Feed() != left {
			leavingC = cur.Feed().Leaving()
		}
		select {
		case <-v.ctx.Done():
			return
		case <-ended:
			v.send(controlMessage{Type: "ended"})
			v.flushControl(500 * time.Millisecond)
			v.log.Info("stream ended: releasing viewer")
			return
		case p := <-cur.C():
			if audioOnly && !p.Keyframe {
				continue // audio only: a still picture now and then
			}
			if hold.dropping {
				continue // the old rung's frames would only deepen the queue
			}
			n, err := vout.write(p.Data, p.PTS, true)
			ad.packets += n
			ad.bytes += len(p.Data)
			if err != nil && errors.Is(err, errClosedPipe) {
				return
			}
		case p := <-pendingC:
			// The first packet of a new reader is a keyframe: switch here.
			fromFeed := cur.Feed()
			from := fromFeed.Info().Name
			cur.Close()
			cur, pending = pending, nil
			hold.dropping = false
			f := cur.Feed()
			if ad.stepsDown(f, fromFeed) {
				ad.switchedDown(time.Now())
			}
			v.feed.Store(f)
			if ad.meter != nil {
				// Packets of the old rung before this keyframe are of
				// no more use to the viewer.
				ad.meter.dropResendsBefore(vout.seq)
			}
			n, _ := vout.write(p.Data, p.PTS, true)
			ad.packets += n
			ad.bytes += len(p.Data)
			ad.setRung(f.Info().Name, f.Info().Bitrate)
			metrics.ViewerRung.DeleteLabelValues(v.st.Name(), v.id[:8], from)
			metrics.ViewerRung.WithLabelValues(v.st.Name(), v.id[:8], f.Info().Name).Set(1)
			v.send(controlMessage{Type: "rung", Rung: f.Info().Name, Reason: pendingReason})
			v.log.Info("rung switched", "from", from, "rung", f.Info().Name, "reason", pendingReason)
		case ev := <-events:
			if dc := v.eventsDC.Load(); dc != nil && dc.ReadyState() == webrtc.DataChannelStateOpen {
				if err := dc.SendText(string(ev)); err != nil {
					v.log.Debug("event send", "err", err)
				}
			}
		case p := <-audioC:
			_, _ = aout.write(p.Data, p.PTS, false)
		case <-adaptTick.C:
			decide()
		case now := <-padTick.C:
			if hold.target != nil && (ad.holdDrained(&hold, now) || now.Sub(hold.since) > ad.sc.Hold.Max) {
				v.log.Debug("video hold ended", "held_ms", now.Sub(hold.since).Milliseconds(), "feedback_queue_ms", ad.meter.queueNow().Milliseconds())
				switchTo(hold.target, hold.reason)
				hold.target = nil
			}
			if hold.dropping && hold.target == nil && (pending == nil || now.Sub(hold.since) > 2*ad.sc.Hold.Max) {
				hold.dropping = false // no keyframe came: send what there is
			}
			ad.checkProbe(now)
			if ad.urgent(now, v.cfg.DelayDown) {
				decide() // a queue builds: do not wait for the next tick
			}
			if ad.shape.ProbeRate() > 0 {
				video := cur.Feed().Info().Bitrate
				if audioOnly {
					video = 0 // stills only: the probe pads nearly all of its rate
				}
				if n := ad.paddingPackets(now, video, 20*time.Millisecond); n > 0 {
					_ = vout.writePadding(n)
				}
			}
		case name := <-v.rungReq:
			hold = videoHold{} // a choice by hand is not held
			if name == "auto" || name == "" {
				ad.manual, ad.manualFeed = false, ""
				ad.ctrl.ClearManual()
				v.send(controlMessage{Type: "rung", Rung: cur.Feed().Info().Name, Reason: "auto"})
				continue
			}
			f, err := v.st.Rung(name)
			if err != nil || ad.setManual(f.Info()) != nil {
				v.send(controlMessage{Type: "error", Reason: fmt.Sprintf("no rung %q", name)})
				continue
			}
			ad.manual = true
			cur.SetDemand(0) // a rung chosen by hand is not retuned for this viewer
			if f == cur.Feed() {
				v.send(controlMessage{Type: "rung", Rung: f.Info().Name, Reason: "manual"})
				continue
			}
			switchTo(f, "manual")
		case <-leavingC:
			// The rung is about to leave the ladder (the source rung, for a
			// mutation chain): switch now, while it still plays, at the
			// next keyframe of the top rung that stays.
			left = cur.Feed()
			for _, f := range v.st.Rungs() {
				if f != left {
					hold = videoHold{}
					switchTo(f, "ladder")
					break
				}
			}
		case <-cur.Feed().Gone():
			// The ladder changed (a new publisher, or the source rung
			// withdrawn for a mutation chain): take the rung of the same
			// name, else the top one.
			hold = videoHold{}
			f, err := v.st.Rung(cur.Feed().Info().Name)
			if err != nil {
				f, err = v.st.Rung("")
			}
			if err != nil {
				return
			}
			cur.Close()
			cur = f.Subscribe(q)
			v.feed.Store(f)
			ad.setRung(f.Info().Name, f.Info().Bitrate)
			v.send(controlMessage{Type: "rung", Rung: f.Info().Name, Reason: "ladder"})
			v.log.Info("rung left the ladder; viewer moved", "rung", f.Info().Name)
			if af := v.st.Audio(); af != nil && (audio == nil || af != audio.Feed()) {
				if audio != nil {
					audio.Close()
				}
				audio = af.Subscribe(q)
				audioC = audio.C()
			}
		case <-tick.C:
			if l := v.st.Live(); l != live {
				live = l
				if live {
					v.send(controlMessage{Type: "live"})
				} else {
					v.send(controlMessage{Type: "offline"})
				}
			}
			if af := v.st.Audio(); af != nil && (audio == nil || af != audio.Feed()) {
				if audio != nil {
					audio.Close()
				}
				audio = af.Subscribe(q)
				audioC = audio.C()
			}
			// The ladder changed, or the source rung's measured rate moved.
			if next := adaptRungs(v.st.Rungs()); ladderMoved(ad.rungs, next) {
				ad.rungs = next
				ad.ctrl.SetRungs(ad.rungs)
				if f := cur.Feed(); f != nil {
					ad.setRung(f.Info().Name, f.Info().Bitrate)
				}
			}
			in := ad.snapshot()
			v.log.Debug("adapt", "estimate", in.Estimate, "smoothed", ad.ctrl.Smoothed(), "state", in.State, "rung", in.Rung, "loss", in.Loss, "rtt_ms", in.RTTMS, "probe", ad.shape.ProbeRate(), "probe_ok", ad.shape.ProbeOK(), "probe_target", ad.ctrl.ProbeTarget(), "queue_ms", ad.shape.Last().QueueDelay.Milliseconds(), "delivered", ad.shape.Delivered())
			v.send(controlMessage{Type: "stats", Estimate: in.Estimate, Smoothed: ad.ctrl.Smoothed(), State: in.State, Rung: in.Rung})
		}
	}
}
