package sender

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// meterLink drives a linkMeter with packets of size bytes sent every gap,
// through a bottleneck of rate bps with a fixed propagation delay, and real
// TWCC feedback built by pion's receiver-side recorder.
type meterLink struct {
	t        *testing.T
	m        *linkMeter
	rec      *twcc.Recorder
	seq      uint16
	now      time.Time
	free     time.Time // when the bottleneck is free again
	rate     int
	drop     func(seq uint16) bool
	sinceFb  int
	sentSize int
	// lag: feedback tells only of packets arrived by now (else of every
	// packet sent, at the time it will arrive).
	lag     bool
	pending []arrival
	// afterFeedback, when set, runs after each feedback the meter takes.
	afterFeedback func()
}

type arrival struct {
	seq uint16
	at  time.Time
}

// arrive hands the recorder what has arrived by now (every packet without
// lag).
func (l *meterLink) arrive() {
	n := 0
	for _, a := range l.pending {
		if l.lag && a.at.After(l.now) {
			l.pending[n] = a
			n++
			continue
		}
		l.rec.Record(7, a.seq, a.at.Sub(l.m.start).Microseconds()+5_000_000)
	}
	l.pending = l.pending[:n]
}

// idle sends nothing for d, with feedback every step.
func (l *meterLink) idle(d, step time.Duration, each func()) {
	for end := l.now.Add(d); l.now.Before(end); l.now = l.now.Add(step) {
		l.feedback()
		each()
	}
}

func newMeterLink(t *testing.T, rate int) *meterLink {
	m := newLinkMeter(DefaultConfig().Resend)
	return &meterLink{t: t, m: m, rec: twcc.NewRecorder(1), now: m.start, free: m.start, rate: rate}
}

// run sends for d at one packet of size bytes every gap, sending feedback
// every 20 packets.
func (l *meterLink) run(d, gap time.Duration, size int) {
	end := l.now.Add(d)
	for ; l.now.Before(end); l.now = l.now.Add(gap) {
		l.m.onSend(l.seq, size, l.now)
		if l.drop == nil || !l.drop(l.seq) {
			start := l.now
			if l.free.After(start) {
				start = l.free
			}
			l.free = start.Add(time.Duration(int64(size) * 8 * int64(time.Second) / int64(l.rate)))
			l.pending = append(l.pending, arrival{l.seq, l.free.Add(10 * time.Millisecond)}) // propagation
		}
		l.seq++
		if l.sinceFb++; l.sinceFb == 20 {
			l.feedback()
		}
	}
}

func (l *meterLink) feedback() {
	l.sinceFb = 0
	l.arrive()
	for _, p := range l.rec.BuildFeedbackPacket() {
		raw, err := p.Marshal()
		if err != nil {
			l.t.Fatal(err)
		}
		back, err := rtcp.Unmarshal(raw)
		if err != nil {
			l.t.Fatal(err)
		}
		for _, q := range back {
			if fb, ok := q.(*rtcp.TransportLayerCC); ok {
				l.m.onFeedback(fb)
			}
		}
	}
	if l.afterFeedback != nil {
		l.afterFeedback()
	}
}

func near(got, want, tol float64) bool { return got >= want*(1-tol) && got <= want*(1+tol) }

func TestLinkMeterClean(t *testing.T) {
	// 1 Mb/s of 1000-byte packets over a 5 Mb/s link: no queue.
	l := newMeterLink(t, 5_000_000)
	l.run(2*time.Second, 8*time.Millisecond, 1000)
	s := l.m.take(l.now)
	if s.QueueDelay > 2*time.Millisecond {
		t.Errorf("queue delay %v on an idle link", s.QueueDelay)
	}
	if !near(float64(s.Delivered), 1_000_000, 0.05) {
		t.Errorf("delivered %d b/s, want about 1 Mb/s (what was sent)", s.Delivered)
	}
	if s.Loss != 0 || s.Acked < 200 {
		t.Errorf("loss %.3f acked %d", s.Loss, s.Acked)
	}
}

func TestLinkMeterQueue(t *testing.T) {
	// 1 Mb/s into a link that falls to 600 kb/s: a queue builds at
	// 400 kb/s, about 0.67 ms of delay per ms, and the receiver gets
	// 600 kb/s.
	l := newMeterLink(t, 5_000_000)
	l.run(2*time.Second, 8*time.Millisecond, 1000)
	l.m.take(l.now)
	l.rate = 600_000
	l.run(300*time.Millisecond, 8*time.Millisecond, 1000)
	s := l.m.take(l.now)
	if s.QueueDelay < 50*time.Millisecond || s.QueueDelay > 250*time.Millisecond {
		t.Errorf("queue delay %v 300 ms into the drop, want roughly 100 ms", s.QueueDelay)
	}
	l.run(500*time.Millisecond, 8*time.Millisecond, 1000)
	s2 := l.m.take(l.now)
	if s2.QueueDelay <= s.QueueDelay {
		t.Errorf("queue delay did not grow: %v then %v", s.QueueDelay, s2.QueueDelay)
	}
	if !near(float64(s2.Delivered), 600_000, 0.05) {
		t.Errorf("delivered %d b/s under a standing queue, want the link's 600 kb/s", s2.Delivered)
	}
	// Sending less than the link carries drains the queue.
	l.run(2*time.Second, 40*time.Millisecond, 1000)
	l.m.take(l.now)
	l.run(time.Second, 40*time.Millisecond, 1000)
	if s3 := l.m.take(l.now); s3.QueueDelay > 20*time.Millisecond { // serialization at 600 kb/s is 13 ms
		t.Errorf("queue delay %v after draining", s3.QueueDelay)
	}
}

// TestLinkMeterBacklog: after a drop, with feedback that tells only of
// what has arrived, the predicted queue follows the link's real queue as
// it drains, while the feedback's own queue lags it by the queue itself.
func TestLinkMeterBacklog(t *testing.T) {
	l := newMeterLink(t, 5_000_000)
	l.lag = true
	l.run(2*time.Second, 8*time.Millisecond, 1000)
	if b, known := l.m.backlog(l.now); !known || b > 20*time.Millisecond {
		t.Fatalf("backlog %v (known %v) on a clean link", b, known)
	}
	// 2.2 Mb/s into 600 kb/s for 300 ms: 800 ms of queue.
	l.rate = 600_000
	l.run(300*time.Millisecond, 3636*time.Microsecond, 1000)
	worst, lagged := time.Duration(0), time.Duration(0)
	l.idle(time.Second, 20*time.Millisecond, func() {
		want := max(0, l.free.Sub(l.now))
		b, known := l.m.backlog(l.now)
		if !known {
			t.Fatalf("backlog unknown %v after the drop", l.now.Sub(l.m.start))
		}
		worst = max(worst, (b - want).Abs())
		lagged = max(lagged, l.m.queueNow()-want)
	})
	if worst > 60*time.Millisecond {
		t.Errorf("predicted queue off the real one by up to %v", worst)
	}
	if lagged < 200*time.Millisecond {
		t.Errorf("the feedback's queue lagged the real one by at most %v: the test's feedback does not lag", lagged)
	}
}

// TestLinkMeterFalling: a fall from 5 Mb/s to 600 kb/s under 2.2 Mb/s of
// media shows, from feedback that tells only of what has arrived, within a
// few feedback intervals and with the link's new rate; a keyframe's burst
// on the fast link does not.
func TestLinkMeterFalling(t *testing.T) {
	l := newMeterLink(t, 5_000_000)
	l.lag = true
	l.afterFeedback = func() {
		if _, fell := l.m.falling(800_000, DefaultConfig().Fall); fell {
			t.Fatalf("falling on a clean 5 Mb/s link at %v", l.now.Sub(l.m.start))
		}
	}
	l.run(2*time.Second, 8*time.Millisecond, 1000)         // 1 Mb/s
	l.run(400*time.Microsecond, 10*time.Microsecond, 1200) // a 48 kB keyframe at once
	l.run(500*time.Millisecond, 8*time.Millisecond, 1000)  // its burst drains
	l.afterFeedback = nil
	l.run(time.Second, 3636*time.Microsecond, 1000) // 2.2 Mb/s
	l.rate = 600_000
	drop := l.now
	var seen time.Duration = -1
	var rate int
	l.afterFeedback = func() {
		if r, fell := l.m.falling(2_200_000*4/5, DefaultConfig().Fall); fell && seen < 0 {
			seen, rate = l.now.Sub(drop), r
		}
	}
	l.run(400*time.Millisecond, 3636*time.Microsecond, 1000)
	if seen < 0 || seen > 200*time.Millisecond {
		t.Fatalf("the fall to 600 kb/s seen after %v, want within 200 ms", seen)
	}
	t.Logf("the fall seen %v after it, at %d b/s", seen, rate)
	if !near(float64(rate), 600_000, 0.2) {
		t.Errorf("arrival rate %d b/s when the fall was seen, want about 600 kb/s", rate)
	}
}

// TestLinkMeterAckedBefore: whether all the feedback tells of was sent
// before a time, with feedback that lags by the queue.
func TestLinkMeterAckedBefore(t *testing.T) {
	l := newMeterLink(t, 600_000)
	l.lag = true
	l.run(500*time.Millisecond, 3636*time.Microsecond, 1000) // 2.2 Mb/s into 600 kb/s
	switched := l.now
	l.run(100*time.Millisecond, 40*time.Millisecond, 1000)
	if !l.m.ackedBefore(switched) {
		t.Fatal("feedback 100 ms after the switch, behind a 1 s queue, already tells of packets sent after it")
	}
	l.idle(2*time.Second, 20*time.Millisecond, func() {})
	if l.m.ackedBefore(switched) {
		t.Fatal("the queue has drained, yet the feedback tells only of packets sent before the switch")
	}
}

func TestLinkMeterLoss(t *testing.T) {
	l := newMeterLink(t, 5_000_000)
	l.drop = func(seq uint16) bool { return seq%10 == 3 }
	l.run(time.Second, 8*time.Millisecond, 1000)
	s := l.m.take(l.now)
	if !near(s.Loss, 0.1, 0.25) {
		t.Errorf("loss %.3f, want about 0.10", s.Loss)
	}
	if n := l.m.takeLost(); n < 10 || l.m.takeLost() != 0 {
		t.Errorf("takeLost = %d, then not 0", n)
	}
}

func TestLinkMeterFeedbackStalls(t *testing.T) {
	l := newMeterLink(t, 5_000_000)
	l.run(time.Second, 8*time.Millisecond, 1000)
	l.m.take(l.now)
	// Sent for 400 ms with no feedback at all.
	for i := 0; i < 50; i++ {
		l.now = l.now.Add(8 * time.Millisecond)
		l.m.onSend(l.seq, 1000, l.now)
		l.seq++
	}
	if s := l.m.take(l.now); s.QueueDelay < 350*time.Millisecond {
		t.Errorf("queue delay %v with no feedback for 400 ms", s.QueueDelay)
	}
}

// TestLinkMeterCountsPadding: a probe's padding-only packets count with
// their padding, under the transport-wide sequence number the send path
// gave them.
func TestLinkMeterCountsPadding(t *testing.T) {
	i, err := sendPathFactory{resend: DefaultConfig().Resend}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	m := i.(*sendPath).meter
	info := &interceptor.StreamInfo{SSRC: 1, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 5}}}
	w := i.BindLocalStream(info, interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, _ interceptor.Attributes) (int, error) {
		return h.MarshalSize() + len(p), nil
	}))
	h := rtp.Header{Version: 2, SSRC: 1, Padding: true, PaddingSize: 255, SequenceNumber: 9}
	if _, err := w.Write(&h, nil, nil); err != nil {
		t.Fatal(err)
	}
	p := m.sent[0]
	if !p.valid || p.seq != 0 || p.size != h.MarshalSize()+255 {
		t.Fatalf("recorded %+v, want transport-wide seq 0 and %d bytes", p, h.MarshalSize()+255)
	}
}

// TestResendGate: retransmissions from before a rung switch, behind a deep
// queue, or over the budget are not sent; the rest are.
func TestResendGate(t *testing.T) {
	m := newLinkMeter(DefaultConfig().Resend)
	now := m.start
	m.setResendBudget(400_000) // 80 kb/s for retransmissions: a 16 kB bucket
	if r := m.gateResend(100, 1200, now); r != "" {
		t.Fatalf("first resend refused: %s", r)
	}
	m.dropResendsBefore(200)
	if r := m.gateResend(150, 1200, now); r != "stale" {
		t.Errorf("resend from before the switch: %q, want stale", r)
	}
	if r := m.gateResend(201, 1200, now); r != "" {
		t.Errorf("resend after the switch refused: %s", r)
	}
	sent := 2400
	for m.gateResend(202, 1200, now) == "" {
		sent += 1200
	}
	if sent <= 16_000-1200 || sent > 16_000 {
		t.Errorf("a burst of %d bytes went out, want the 16 kB bucket", sent)
	}
	// A second refills 10 kB at 80 kb/s.
	now = now.Add(time.Second)
	n := 0
	for m.gateResend(203, 1000, now) == "" {
		n++
	}
	if n != 10 {
		t.Errorf("%d resends of 1 kB after a second, want 10", n)
	}
	m.mu.Lock()
	m.lastExcess = (300 * time.Millisecond).Microseconds()
	m.mu.Unlock()
	if r := m.gateResend(204, 100, now.Add(time.Second)); r != "late" {
		t.Errorf("resend behind a 300 ms queue: %q, want late", r)
	}
}

// TestQueueNowIgnoresBursts: a keyframe's burst through a fast link is not
// a standing queue; a queue that holds is.
func TestQueueNowIgnoresBursts(t *testing.T) {
	l := newMeterLink(t, 5_000_000)
	l.run(time.Second, 8*time.Millisecond, 1000)
	// 30 packets at once: the last waits 48 ms behind the others.
	for i := 0; i < 30; i++ {
		l.run(time.Microsecond, time.Microsecond, 1000)
	}
	l.feedback()
	if q := l.m.queueNow(); q > 20*time.Millisecond {
		t.Errorf("queue %v after one burst, want it taken as passing", q)
	}
	l.run(2*time.Second, 8*time.Millisecond, 1000)
	l.rate = 600_000
	l.run(400*time.Millisecond, 8*time.Millisecond, 1000)
	l.feedback()
	if q := l.m.queueNow(); q < 100*time.Millisecond {
		t.Errorf("queue %v 400 ms into a drop to 600 kb/s, want a standing queue", q)
	}
}
