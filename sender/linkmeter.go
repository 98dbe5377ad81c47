package sender

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// A linkMeter reads a viewer's transport-wide congestion control feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01) against what was
// sent, and says what GCC's estimate alone says late or not at all: how
// much queueing delay the link has built up now, and the rate it actually
// delivers. While a queue stands, the delivered rate is the link's capacity.
//
// It is an interceptor, registered first so that it sits closest to the
// network: outgoing packets already carry their transport-wide sequence
// number. One instance serves one PeerConnection.
type linkMeter struct {
	resend ResendConfig

	fed chan struct{} // see Fed
	// onFed, when set, is told of feedback first, in the goroutine that
	// read it; true means it was handled and Fed is not signalled.
	onFed atomic.Pointer[func() bool]

	mu    sync.Mutex
	start time.Time
	sent  [meterRing]sentPacket
	recv  [meterRing]recvPacket // acknowledged packets, by arrival
	nRecv int                   // total written to recv
	// base one-way delay: the least seen in each of the latest
	// meterBaseBuckets periods of meterBaseBucket.
	baseMin   [meterBaseBuckets]int64
	baseAt    [meterBaseBuckets]int64 // start of each bucket, µs since start
	baseFirst bool

	// Since the latest take.
	excessSum int64 // µs of one-way delay above base, summed
	excessN   int
	lost      int
	reported  int

	lastAckAt  int64 // send time (µs since start) of the newest acknowledged packet
	lastAckEnd int64 // its arrival, in the sender's clock less the base delay
	lastAckCum int64 // bytes sent up to and with it
	sentBytes  int64 // bytes sent in all
	lastSentAt int64 // send time of the newest packet sent
	lastExcess int64 // µs of queueing delay of the latest packet acknowledged
	lostRecent int   // packets reported lost since takeLost

	// queueNow and delivered, as of nRecv arrivals.
	queueAt, deliveredAt int
	queueMemo            time.Duration
	deliveredMemo        int

	// Retransmissions: a token bucket, and the switch before which they
	// are useless.
	resendRate   int // bps
	resendTokens float64
	resendAt     time.Time
	cutoff       uint16
	haveCutoff   bool
	// The hooks, when set before the PeerConnection connects, take the
	// viewer's RTCP other than transport-wide feedback: onReport each
	// reception report, onNack each NACK pair, onRTCP every other packet
	// but source descriptions (PLI, FIR, REMB...), parsed once here: the
	// application then only drains the raw reports.
	onRTCP   func(p rtcp.Packet, now time.Time)
	onReport func(rep rtcp.ReceptionReport, now time.Time)
	onNack   func(pair rtcp.NackPair)
	// onResendDropped, when set before the PeerConnection sends, asks for
	// a keyframe; called at most once per resendKeyframeGap.
	onResendDropped func()
	lastKeyframeAsk time.Time
	// The latest packets resent, and how often each: by RTP sequence
	// number modulo its length.
	resent [256]struct {
		seq uint16
		n   uint8
	}
}

const (
	meterRing        = 4096 // packets remembered: over a second at 25 Mb/s
	meterBaseBuckets = 6
	meterBaseBucket  = 5 * time.Second // base delay is the least over the last 30 s
	deliveredWindow  = 200 * time.Millisecond
)

type sentPacket struct {
	seq   uint16
	at    int64 // µs since start
	cum   int64 // bytes sent up to and with this packet
	size  int
	valid bool
	acked bool
}

type recvPacket struct {
	arrival int64 // µs, receiver's clock
	size    int
	excess  int64 // µs of queueing delay
}

// linkSample is what a linkMeter saw since its previous take.
type linkSample struct {
	// QueueDelay is the mean one-way delay above the link's base over the
	// packets acknowledged; when packets were sent but none acknowledged,
	// how long ago the newest acknowledged one was sent.
	QueueDelay time.Duration
	// Delivered is the rate, in bps, at which the receiver got packets over
	// the latest deliveredWindow of its clock; 0 when not known.
	Delivered int
	// Loss is the fraction of packets the feedback reported lost.
	Loss float64
	// Acked is how many packets the feedback acknowledged.
	Acked int
}

func newLinkMeter(resend ResendConfig) *linkMeter {
	return &linkMeter{start: time.Now(), resend: resend, fed: make(chan struct{}, 1)}
}

// Fed is signalled when feedback came in since the latest receive: the
// sender's loop then looks at the link at once, instead of on a timer.
func (m *linkMeter) Fed() <-chan struct{} { return m.fed }

func (m *linkMeter) signalFed() {
	if fn := m.onFed.Load(); fn != nil && (*fn)() {
		return // handled where it was read
	}
	select {
	case m.fed <- struct{}{}:
	default:
	}
}

// observe takes the RTCP packets of one compound packet from the viewer,
// parsed: transport-wide feedback is the meter's, the rest goes to the
// hooks (observeBytes takes the same packet unparsed).
func (m *linkMeter) observe(pkts []rtcp.Packet, now time.Time) {
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.TransportLayerCC:
			m.onFeedback(p)
		case *rtcp.SourceDescription:
			// Read by nobody.
		default:
			if !splitReports(p, m, now) && m.onRTCP != nil {
				m.onRTCP(p, now)
			}
		}
	}
}

// report hands one reception report to onReport.
func (m *linkMeter) report(rep rtcp.ReceptionReport, now time.Time) {
	if m.onReport != nil {
		m.onReport(rep, now)
	}
}

// nack hands one NACK pair to onNack.
func (m *linkMeter) nack(pair rtcp.NackPair) {
	if m.onNack != nil {
		m.onNack(pair)
	}
}

func (m *linkMeter) onSend(seq uint16, size int, now time.Time) {
	at := now.Sub(m.start).Microseconds()
	m.mu.Lock()
	m.sentLocked(seq, size, at)
	m.mu.Unlock()
}

// sentLocked records packet seq of size bytes, sent at at; m.mu is held.
func (m *linkMeter) sentLocked(seq uint16, size int, at int64) {
	m.sentBytes += int64(size)
	m.sent[seq%meterRing] = sentPacket{seq: seq, at: at, cum: m.sentBytes, size: size, valid: true}
	m.lastSentAt = at
}

// onFeedback walks one feedback packet, parsed: each status in order,
// with the arrival delta of each received packet (feedbackBytes walks it
// unparsed).
func (m *linkMeter) onFeedback(fb *rtcp.TransportLayerCC) {
	defer m.signalFed()
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.walk(fb.BaseSequenceNumber, fb.PacketStatusCount, fb.ReferenceTime)
	deltas := fb.RecvDeltas
	status := func(sym uint16) {
		seq, timed, ok := w.status(sym)
		if !ok || !timed || len(deltas) == 0 {
			return
		}
		w.arrive(seq, deltas[0].Delta)
		deltas = deltas[1:]
	}
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for i := 0; i < int(c.RunLength) && w.left > 0; i++ {
				status(c.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			for _, sym := range c.SymbolList {
				if c.SymbolSize == rtcp.TypeTCCSymbolSizeOneBit && sym == 1 {
					sym = rtcp.TypeTCCPacketReceivedSmallDelta
				}
				status(sym)
			}
		}
	}
}

// onArrival takes one acknowledged packet; m.mu is held.
func (m *linkMeter) onArrival(seq uint16, arrival int64) {
	p := &m.sent[seq%meterRing]
	if !p.valid || p.seq != seq || p.acked {
		return
	}
	p.acked = true
	owd := arrival - p.at
	m.lastExcess = owd - m.observeBase(p.at, owd)
	m.recv[m.nRecv%meterRing] = recvPacket{arrival: arrival, size: p.size, excess: m.lastExcess}
	m.nRecv++
	if p.at >= m.lastAckAt {
		m.lastAckAt, m.lastAckEnd, m.lastAckCum = p.at, p.at+m.lastExcess, p.cum
	}
	m.excessSum += m.lastExcess
	m.excessN++
}

// observeBase takes a one-way delay (arbitrary offset, µs) of a packet sent
// at at and returns the base: the least over the recent buckets.
func (m *linkMeter) observeBase(at, owd int64) int64 {
	bucket := meterBaseBucket.Microseconds()
	i := int(at/bucket) % meterBaseBuckets
	if start := at / bucket * bucket; !m.baseFirst || m.baseAt[i] != start {
		if !m.baseFirst {
			for j := range m.baseMin {
				m.baseMin[j], m.baseAt[j] = owd, -1
			}
			m.baseFirst = true
		}
		m.baseAt[i], m.baseMin[i] = start, owd
	} else if owd < m.baseMin[i] {
		m.baseMin[i] = owd
	}
	base := m.baseMin[i]
	for j, v := range m.baseMin {
		if m.baseAt[j] >= 0 && at-m.baseAt[j] < meterBaseBuckets*bucket && v < base {
			base = v
		}
	}
	return base
}

// standingWindow is how long, in arrival time, a queue must have held
// for queueNow to report it: a keyframe's burst passing through a fast
// link is shorter.
const standingWindow = 40 * time.Millisecond

// queueNow returns the queue that stands as of the latest feedback: the
// least queueing delay of the packets that arrived over the latest
// standingWindow.
func (m *linkMeter) queueNow() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nRecv == 0 {
		return 0
	}
	// It changes only with new arrivals: one scan per feedback however
	// often it is asked.
	if m.queueAt == m.nRecv {
		return m.queueMemo
	}
	m.queueAt, m.queueMemo = m.nRecv, m.scanQueue()
	return m.queueMemo
}

// scanQueue is queueNow's scan of the arrivals of the latest
// standingWindow; m.mu is held.
func (m *linkMeter) scanQueue() time.Duration {
	newest := m.recv[(m.nRecv-1)%meterRing]
	least := newest.excess
	for i := m.nRecv - 2; i >= 0 && i > m.nRecv-meterRing; i-- {
		r := m.recv[i%meterRing]
		if r.arrival < newest.arrival-standingWindow.Microseconds() {
			break
		}
		least = min(least, r.excess)
	}
	return time.Duration(least) * time.Microsecond
}

// backlog predicts the queue the link holds now, free of the feedback's
// lag (which is the queue itself, plus the feedback interval): the newest
// acknowledged packet arrived at its send time plus its queueing delay;
// what was sent after it takes its size over the delivered rate to get
// through; less the time gone by since. Propagation delay is left out, so
// the prediction errs low by it. known is false while the delivered rate is
// not.
func (m *linkMeter) backlog(now time.Time) (d time.Duration, known bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rate := m.delivered()
	if rate <= 0 || m.nRecv == 0 {
		return 0, false
	}
	after := m.sentBytes - m.lastAckCum
	end := m.lastAckEnd + after*8*1_000_000/int64(rate)
	left := end - now.Sub(m.start).Microseconds()
	return max(0, time.Duration(left)*time.Microsecond), true
}

// ackedBefore says whether the newest packet the feedback acknowledged
// was sent before t: all the feedback tells of is older than t.
func (m *linkMeter) ackedBefore(t time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nRecv > 0 && m.lastAckAt < t.Sub(m.start).Microseconds()
}

// falling says whether the link has just fallen under bps, as fc says
// (FallConfig): packets arriving slower than they were sent while their
// delay climbs, before the queue is deep. It returns the rate they arrive
// at, the link's new rate.
func (m *linkMeter) falling(bps int, fc FallConfig) (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nRecv < 2 || bps <= 0 {
		return 0, false
	}
	// The latest fc.Window of arrivals, and at least fc.Packets of them
	// (a thin link delivers few), within 4 windows.
	newest := m.recv[(m.nRecv-1)%meterRing]
	from := newest.arrival - fc.Window.Microseconds()
	// The rate is taken over the newest fc.Packets alone: the older ones
	// may have arrived before the fall.
	first, n := newest, 0
	bytes, rateFrom := 0, newest
	for i := m.nRecv - 1; i >= 0 && i > m.nRecv-meterRing; i-- {
		r := m.recv[i%meterRing]
		if (r.arrival < from && n >= fc.Packets) || r.arrival < from-3*fc.Window.Microseconds() {
			break
		}
		if n < fc.Packets {
			bytes, rateFrom = bytes+r.size, r
		}
		first, n = r, n+1
	}
	span := newest.arrival - first.arrival
	if n < fc.Packets || span < fc.Window.Microseconds()/2 || newest.arrival <= rateFrom.arrival {
		return 0, false
	}
	rate := arrivalRate(bytes, rateFrom.size, newest.arrival-rateFrom.arrival)
	return rate, newest.excess-first.excess >= fc.Rise.Microseconds() && rate < bps
}

// takeLost returns the packets reported lost since its previous call.
func (m *linkMeter) takeLost() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.lostRecent
	m.lostRecent = 0
	return n
}

// deliveredNow returns the delivered rate as of the latest feedback.
func (m *linkMeter) deliveredNow() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.delivered()
}

// take returns what was seen since the previous take, at now.
func (m *linkMeter) take(now time.Time) linkSample {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s linkSample
	s.Acked = m.excessN
	switch {
	case m.excessN > 0:
		s.QueueDelay = time.Duration(m.excessSum/int64(m.excessN)) * time.Microsecond
	case m.lastSentAt > m.lastAckAt && m.lastAckAt > 0:
		// Sent, and nothing acknowledged: the feedback lags by at least this.
		s.QueueDelay = time.Duration(now.Sub(m.start).Microseconds()-m.lastAckAt) * time.Microsecond
	}
	if m.reported > 0 {
		s.Loss = float64(m.lost) / float64(m.reported)
	}
	s.Delivered = m.delivered()
	m.excessSum, m.excessN, m.lost, m.reported = 0, 0, 0, 0
	return s
}

// delivered is the received rate over the latest deliveredWindow of
// arrival time, 0 when the packets span less than half of it; m.mu is held.
func (m *linkMeter) delivered() int {
	if m.nRecv == 0 {
		return 0
	}
	if m.deliveredAt == m.nRecv {
		return m.deliveredMemo
	}
	m.deliveredAt, m.deliveredMemo = m.nRecv, m.scanDelivered()
	return m.deliveredMemo
}

// scanDelivered is delivered's scan; m.mu is held.
func (m *linkMeter) scanDelivered() int {
	last := m.recv[(m.nRecv-1)%meterRing].arrival
	from := last - deliveredWindow.Microseconds()
	bytes, first, firstSize := 0, last, 0
	for i := m.nRecv - 1; i >= 0 && i > m.nRecv-meterRing; i-- {
		r := m.recv[i%meterRing]
		if r.arrival <= from {
			break
		}
		bytes += r.size
		first, firstSize = r.arrival, r.size
	}
	span := last - first
	if span < deliveredWindow.Microseconds()/2 {
		return 0
	}
	return arrivalRate(bytes, firstSize, span)
}

// arrivalRate is the rate, in bits per second, of packets of bytes in all
// that arrived over span µs; the first one's firstSize bytes arrived
// before the span began.
func arrivalRate(bytes, firstSize int, span int64) int {
	return int(int64(bytes-firstSize) * 8 * 1_000_000 / span)
}
