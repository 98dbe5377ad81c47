package sender

import "time"

// pacer spreads a large access unit (a keyframe, several times a frame's
// share of the rate) over time at the link's rate, instead of handing it
// all at once to a bottleneck whose queue may hold fewer packets than the
// keyframe has: a keyframe that overflows the queue is lost, and the
// picture freezes until the next one. It is a token bucket of bytes: a
// packet goes out while the bucket holds tokens and nothing waits before
// it; the rest waits, in order, for flush. Small frames pass at once.
//
// Only the viewer's loop uses it; its packets are payloads shared by every
// viewer of the rung (stream.Packet.Payloads), kept without a copy.
type pacer struct {
	rate   int     // bits per second
	burst  int     // the bucket's depth in bytes
	tokens float64 // bytes that may go out now; negative after a large packet
	last   time.Time
	q      []pacedPacket
	head   int       // q[head:] waits
	since  time.Time // when the current backlog began
	now    func() time.Time
}

// pacedPacket is one payload waiting, with the header fields it was given.
type pacedPacket struct {
	payload []byte
	ts      uint32
	marker  bool
}

// paceBurst is the most a pacer sends at once, in packets of rtpMTU: a
// third of a 60-packet bottleneck queue (a common tail-drop depth).
const paceBurst = 20

// paceMaxWait bounds the time a packet waits in a pacer: past it the
// backlog goes out at once (the rate was set too low, or not at all).
const paceMaxWait = 400 * time.Millisecond

func newPacer() *pacer {
	return &pacer{burst: paceBurst * rtpMTU, tokens: paceBurst * rtpMTU, now: time.Now}
}

// setRate sets the rate packets drain at, in bits per second. Zero or
// less turns pacing off: everything passes at once.
func (p *pacer) setRate(bps int) { p.rate = bps }

// refill adds the tokens earned since the last call.
func (p *pacer) refill(now time.Time) {
	if !now.After(p.last) {
		return
	}
	if !p.last.IsZero() && p.rate > 0 {
		p.tokens += float64(p.rate) / 8 * now.Sub(p.last).Seconds()
	}
	p.last = now
	// Deep enough to reach the rate at the loop's 20 ms flushes.
	depth := max(float64(p.burst), float64(p.rate)/8*(2*padInterval).Seconds())
	p.tokens = min(p.tokens, depth)
}

// admit says whether a packet of n bytes may go out now, and takes its
// tokens if so. It refuses while packets wait, to keep their order.
func (p *pacer) admit(now time.Time, n int) bool {
	if p.rate <= 0 {
		return true
	}
	if p.head < len(p.q) {
		return false
	}
	p.refill(now)
	if p.tokens <= 0 {
		return false
	}
	p.tokens -= float64(n)
	return true
}

// push queues a packet that admit refused, at now.
func (p *pacer) push(now time.Time, pl []byte, ts uint32, marker bool) {
	if p.head == len(p.q) {
		p.q, p.head, p.since = p.q[:0], 0, now
	}
	p.q = append(p.q, pacedPacket{payload: pl, ts: ts, marker: marker})
}

// waiting says how many packets wait.
func (p *pacer) waiting() int { return len(p.q) - p.head }

// next returns the next packet that may go out at now, taking its tokens,
// or false. A backlog older than paceMaxWait goes out whole.
func (p *pacer) next(now time.Time) (pacedPacket, bool) {
	if p.head == len(p.q) {
		return pacedPacket{}, false
	}
	p.refill(now)
	if p.rate > 0 && p.tokens <= 0 && now.Sub(p.since) < paceMaxWait {
		return pacedPacket{}, false
	}
	pk := p.q[p.head]
	p.q[p.head] = pacedPacket{} // the payload is the rung's: let it go
	p.head++
	p.tokens -= float64(len(pk.payload))
	return pk, true
}

// drop forgets every waiting packet (a rung switch: the old rung's frames
// are of no more use) and returns how many there were.
func (p *pacer) drop() int {
	n := p.waiting()
	clear(p.q[p.head:])
	p.q, p.head = p.q[:0], 0
	return n
}

// writePaced sends an access unit's payloads through o.pace: what the
// bucket allows now, the rest queued for flush. It counts queued packets
// as sent.
func (o *rtpOut) writePaced(b *trackBinding, payloads [][]byte, ts uint32, marker bool) (int, error) {
	now := o.pace.now()
	st := o.unitStream(b)
	for i, pl := range payloads {
		m := marker && i == len(payloads)-1
		switch {
		case !o.pace.admit(now, len(pl)):
			o.pace.push(now, pl, ts, m)
		case st != nil:
			o.addUnit(pl, ts, m)
		default:
			if _, err := b.w.WriteRTP(o.header(b, ts, m), pl); err != nil {
				return i, err
			}
		}
	}
	if st != nil {
		if n, err := o.sendRun(b, st); err != nil {
			return n, err
		}
	}
	return len(payloads), nil
}

// flush sends the waiting packets the pacer allows at now.
func (o *rtpOut) flush(now time.Time) error {
	if o.pace == nil || o.pace.waiting() == 0 {
		return nil
	}
	b := o.track.b.Load()
	if b == nil {
		o.pace.drop()
		return nil
	}
	st := o.unitStream(b)
	for {
		pk, ok := o.pace.next(now)
		if !ok {
			break
		}
		if st != nil {
			o.addUnit(pk.payload, pk.ts, pk.marker)
			continue
		}
		if _, err := b.w.WriteRTP(o.header(b, pk.ts, pk.marker), pk.payload); err != nil {
			return err
		}
	}
	if st != nil {
		_, err := o.sendRun(b, st)
		return err
	}
	return nil
}

// backlog says how many packets wait in o's pacer.
func (o *rtpOut) backlog() int {
	if o.pace == nil {
		return 0
	}
	return o.pace.waiting()
}

// paceRate is the rate a viewer's video is paced at: what the link is
// seen to carry (the controller's smoothed estimate, or the delivered rate
// if higher), and never under 1.25 times the rung's bitrate, so that a
// rung's own average always drains at once and only its keyframes spread.
func (a *viewerAdapt) paceRate() int {
	r := a.rungBps * 5 / 4
	if a.shape != nil {
		r = max(r, a.shape.Delivered())
	}
	if a.ctrl != nil {
		r = max(r, a.ctrl.Smoothed())
	}
	return r
}
