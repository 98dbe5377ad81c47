package adapt

import (
	"reflect"
	"testing"
	"time"
)

// queueSim is a viewer's link for a closed-loop run of Shaper and
// Controller: a bottleneck of scheduled capacity with a drop-tail buffer
// of 60 packets, a GCC-like estimate that follows the capacity a second
// late, and a link meter's readings of the queue, the delivered rate and
// a fall. It records what the shaper was given, as a sender would.
type queueSim struct {
	l      *link
	h      *Shaper
	queue  float64 // bits waiting at the bottleneck
	nacks  int64
	loss   float64
	lossAt time.Time
	events []FeedbackEvent
	decs   []Decision
}

const (
	simPad    = 20 * time.Millisecond // the sender's pad tick
	simBuffer = 60 * packetBits       // the bottleneck's buffer, bits
)

func (q *queueSim) run(t *testing.T) {
	t.Helper()
	var dec Decision
	var in, videoBits, out, lost, queueSum float64
	var n int
	lastQueue := time.Duration(0)
	for d := time.Duration(0); d <= q.l.total(); d += simPad {
		now := t0.Add(d)
		capacity := float64(q.l.capacityAt(d))
		video := sentRate(ladder, dec)
		pad := 0
		if q.h.ProbeRate() > 0 {
			pad = q.h.PadRate(now, video)
		}
		sent := float64(video+pad) * simPad.Seconds()
		q.queue += sent
		through := min(q.queue, capacity*simPad.Seconds())
		q.queue -= through
		dropped := 0.0
		if q.queue > simBuffer {
			dropped, q.queue = q.queue-simBuffer, simBuffer
		}
		queueNow := time.Duration(q.queue / capacity * float64(time.Second))
		in, videoBits, out, lost = in+sent, videoBits+float64(video)*simPad.Seconds(), out+through, lost+dropped
		queueSum += float64(queueNow)
		n++
		q.nacks += int64(dropped / packetBits)
		if d%tick != 0 {
			if q.h.ProbeAborts(queueNow, int(dropped/packetBits)) {
				c := ProbeCut{Now: now, Delivered: int(through / simPad.Seconds())}
				q.h.CutProbe(c)
				q.events = append(q.events, FeedbackEvent{Cut: &c})
			}
			continue
		}
		if d%time.Second == 0 && in > 0 { // a receiver report a second
			q.loss, q.lossAt = lost/in, now
		}
		rungBps := 0
		for _, r := range ladder {
			if r.Name == dec.Rung {
				rungBps = r.Bitrate
			}
		}
		est := int(float64(q.l.capacityAt(d-estimateLag)) * (0.97 + 0.06*q.l.rng.Float64()))
		f := Feedback{
			Now: now, Estimate: est, Overuse: queueNow > 30*time.Millisecond && queueNow > lastQueue,
			Loss: q.loss, LossAt: q.lossAt, RTT: 40*time.Millisecond + queueNow, NACKs: q.nacks,
			Packets: int(videoBits / packetBits), Bytes: int(videoBits / 8), RungBitrate: rungBps,
			Link: &LinkReading{QueueDelay: time.Duration(queueSum / float64(n)), QueueNow: queueNow,
				Delivered: int(out / tick.Seconds()), Acked: int(out / packetBits)},
		}
		if q.h.ProbeRate() == 0 && rungBps > 0 && capacity < 0.8*float64(rungBps) && queueNow-lastQueue >= 40*time.Millisecond {
			f.Link.Fell, f.Link.FellRate = true, int(capacity)
		}
		_, dec = q.h.Decide(f)
		q.events = append(q.events, FeedbackEvent{Update: &f})
		q.decs = append(q.decs, dec)
		in, videoBits, out, lost, queueSum, n = 0, 0, 0, 0, 0, 0
		lastQueue = queueNow
	}
}

// TestShaperReplay runs a viewer closed loop over a link that sinks from
// 5 Mb/s to 2.2 Mb/s (a queue builds slowly), falls to 600 kb/s and comes
// back, recording its raw feedback; replayed
// twice, the recording gives the viewer's decisions exactly, and the
// shaping's known cases hold in the replay: a standing queue makes the
// estimate the delivered rate, and after 3 s GCC's estimate counts for no
// more than 1.5x what was delivered.
func TestShaperReplay(t *testing.T) {
	l := newLink(7, segment{20 * time.Second, 5_000_000}, segment{10 * time.Second, 2_200_000}, segment{15 * time.Second, 600_000}, segment{25 * time.Second, 5_000_000})
	cfg, sc := DefaultConfig(), DefaultShapeConfig()
	sim := &queueSim{l: l, h: NewShaper(sc, New(cfg, ladder, t0))}
	sim.run(t)
	cuts := 0
	for _, e := range sim.events {
		if e.Cut != nil {
			cuts++
		}
	}
	t.Logf("%d updates, %d probes cut short", len(sim.decs), cuts)

	stats, decs := ReplayFeedback(cfg, sc, ladder, sim.events)
	stats2, decs2 := ReplayFeedback(cfg, sc, ladder, sim.events)
	if !reflect.DeepEqual(stats, stats2) || !reflect.DeepEqual(decs, decs2) {
		t.Fatal("two replays of one recording differ")
	}
	if !reflect.DeepEqual(decs, sim.decs) {
		for i := range decs {
			if decs[i] != sim.decs[i] {
				t.Fatalf("update %d: replayed %+v, the viewer decided %+v", i, decs[i], sim.decs[i])
			}
		}
		t.Fatalf("replayed %d decisions, the viewer took %d", len(decs), len(sim.decs))
	}

	var queued, capped, left int
	i := 0
	for _, e := range sim.events {
		f := e.Update
		if f == nil {
			continue
		}
		s, d := stats[i], decs[i]
		i++
		delivered := f.Link.Delivered
		if max(f.Link.QueueDelay, f.Link.QueueNow) > sc.StandingQueue && delivered > 0 && !s.Fell {
			queued++
			if s.Estimate != delivered {
				t.Errorf("%v: estimate %d under a %v queue, want the delivered %d", f.Now.Sub(t0), s.Estimate, f.Link.QueueNow, delivered)
			}
		}
		if f.Now.Sub(t0) > 3*time.Second && !s.Probed && !s.Fell && delivered > 0 {
			need := int(float64(f.RungBitrate) * cfg.Headroom)
			if s.Estimate > max(delivered*3/2, need) {
				t.Errorf("%v: estimate %d over 1.5x the delivered %d (rung need %d)", f.Now.Sub(t0), s.Estimate, delivered, need)
			}
			if f.Estimate > delivered*3/2 && s.Estimate == delivered*3/2 {
				capped++
			}
		}
		if at := f.Now.Sub(t0); at > 35*time.Second && at < 45*time.Second && d.Rung != "720p" {
			left++
		}
	}
	if queued == 0 || capped == 0 {
		t.Fatalf("the trace never had a standing queue (%d) or a capped estimate (%d): it tests nothing", queued, capped)
	}
	if left == 0 {
		t.Fatal("the viewer stayed on 720p at 600 kb/s")
	}
	t.Logf("%d updates under a standing queue, %d capped at 1.5x delivered", queued, capped)
}
