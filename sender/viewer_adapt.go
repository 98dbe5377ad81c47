package sender

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"

	"github.com/mutstream/mutstream/adapt"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// adaptInterval is how often a viewer's controller decides.
const adaptInterval = 200 * time.Millisecond

// padInterval is how often a probe's padding is sent, a video hold looked
// at and a paced keyframe's packets released. Short, so that a probe's
// padding goes out in small bursts: a bottleneck queue counted in packets
// (60 is common) overflows under 40 padding packets at once, which is 20
// ms of a 4 Mb/s probe, and loses the video packets behind them.
const padInterval = 5 * time.Millisecond

// historyLen bounds a viewer's history: five minutes at two samples a second.
const historyLen = 600

// linkStats gathers what a viewer's RTCP says, written by the RTCP readers
// and read by the session loop.
type linkStats struct {
	lossPPM atomic.Int64 // fraction lost in the last receiver report, parts per million
	lossAt  atomic.Int64 // when that report came, Unix nanoseconds
	rttUS   atomic.Int64 // round-trip time from the last receiver report
	nacks   atomic.Int64 // distinct packets NACKed since start

	mu     sync.Mutex
	nacked [4096]uint32 // seq+1 of recently NACKed packets, by seq
}

// nack counts the packets of one NACK pair not NACKed before:
// receivers repeat a NACK until the packet comes (some forever), and a
// repeat is not more loss.
func (l *linkStats) nack(pair rtcp.NackPair) {
	l.mu.Lock()
	n := 0
	pair.Range(func(seq uint16) bool {
		slot := &l.nacked[seq%uint16(len(l.nacked))]
		if *slot != uint32(seq)+1 {
			*slot = uint32(seq) + 1
			n++
		}
		return true
	})
	l.mu.Unlock()
	l.nacks.Add(int64(n))
}

// report takes one reception report: the loss and the round-trip time.
func (l *linkStats) report(rep rtcp.ReceptionReport, now time.Time) {
	l.lossPPM.Store(int64(rep.FractionLost) * 1_000_000 / 256)
	l.lossAt.Store(now.UnixNano())
	if rtt, ok := reportRTT(rep, now); ok {
		l.rttUS.Store(rtt.Microseconds())
	}
}

// observe takes one RTCP packet from the viewer.
func (l *linkStats) observe(p rtcp.Packet, now time.Time) { splitReports(p, l, now) }

// reportRTT is the round-trip time a reception report gives (RFC 3550
// 6.4.1), read at now: false when it refers to no sender report, or to one
// over 16 s old.
func reportRTT(rep rtcp.ReceptionReport, now time.Time) (time.Duration, bool) {
	if rep.LastSenderReport == 0 {
		return 0, false
	}
	rtt := uint32(ntpTime(now)>>16) - rep.LastSenderReport - rep.Delay
	if rtt >= 1<<20 {
		return 0, false
	}
	return time.Duration(int64(rtt) * int64(time.Second) / 65536), true
}

// ntpTime is t as a 64-bit NTP timestamp (RFC 3550).
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1_000_000_000
	return secs<<32 | frac
}

// Sample is one point of a viewer's history.
type Sample struct {
	T         float64 `json:"t"` // Unix seconds
	Estimate  int     `json:"estimate"`
	Smoothed  int     `json:"smoothed"`
	Rung      string  `json:"rung"`
	Bitrate   int     `json:"bitrate"` // the rung's target bitrate
	Loss      float64 `json:"loss"`
	RTTMS     float64 `json:"rtt_ms"`
	AudioOnly bool    `json:"audio_only,omitempty"`
}

// Switch is one change of rung.
type Switch struct {
	T      float64 `json:"t"`
	From   string  `json:"from"`
	To     string  `json:"to"`
	Reason string  `json:"reason"`
}

// ViewerInfo is a viewer's state and recent history, for the dashboard.
type ViewerInfo struct {
	ID        string   `json:"id"`
	Codec     string   `json:"codec"` // the video codec sent: "h264", "vp8"
	Rung      string   `json:"rung"`
	State     string   `json:"state"`
	Estimate  int      `json:"estimate"`
	Loss      float64  `json:"loss"`
	RTTMS     float64  `json:"rtt_ms"`
	Manual    bool     `json:"manual"`
	AudioOnly bool     `json:"audio_only"`
	History   []Sample `json:"history"`
	Switches  []Switch `json:"switches"`
}

// viewerAdapt is one viewer's controller, the shaper that feeds it and
// what they have decided, owned by the session loop; info is read by the
// API under mu.
type viewerAdapt struct {
	ctrl    *adapt.Controller
	shape   *adapt.Shaper
	est     cc.BandwidthEstimator // nil without GCC
	initial int                   // bps: the estimate without GCC until the meter measures
	meter   *linkMeter            // nil when the PeerConnection has none
	stats   *linkStats
	packets int // video packets sent since the last update
	bytes   int // video bytes sent since the last update
	// padCarry is the fraction of a padding packet owed from the last
	// paddingPackets.
	padCarry float64

	codec      string       // the video codec sent, for metrics
	rungs      []adapt.Rung // the ladder as the controller sees it
	rungBps    int          // the target bitrate of the rung being sent
	rungName   string       // the rung being sent
	manual     bool
	manualFeed string // a manual frame-rate-capped feed (the controller has its base rung)
	last       adapt.Decision
	since      time.Time // when the current rung began, for seconds-at-rung

	sc     Config
	downAt time.Time // the latest switch down carried out

	mu       sync.Mutex
	info     ViewerInfo
	lastHist time.Time
}

// start gives the viewer its controller and shaper, for the ladder
// rungs, at now.
func (a *viewerAdapt) start(rungs []adapt.Rung, now time.Time) {
	a.rungs = rungs
	a.ctrl = adapt.New(a.sc.Config, rungs, now)
	a.shape = adapt.NewShaper(a.sc.ShapeConfig, a.ctrl)
}

// adaptRungs converts a stream's ladder for the controller. The source
// rung has no target bitrate: it is taken as its measured rate when known,
// else as 20 % above the top transcoded rung.
func adaptRungs(feeds []*stream.Feed) []adapt.Rung {
	top := 0
	for _, f := range feeds {
		if b := f.Info().Bitrate; b > top {
			top = b
		}
	}
	out := make([]adapt.Rung, 0, len(feeds))
	for _, f := range feeds {
		in := f.Info()
		if in.LowFPSOf != "" {
			continue // the controller's frame-rate cap, not a rung of its own
		}
		b := in.Bitrate
		if b == 0 {
			b = f.Rate()
		}
		if b == 0 {
			b = top * 6 / 5
		}
		if b == 0 {
			b = 1_000_000
		}
		out = append(out, adapt.Rung{Name: in.Name, Width: in.Width, Height: in.Height, FPS: in.FPS, Bitrate: b})
	}
	return out
}

// ladderMoved says whether the controller's ladder should be replaced by
// next: a rung came or went, or a bitrate (the source rung's measured one)
// moved by a quarter or more.
func ladderMoved(cur, next []adapt.Rung) bool {
	if len(cur) != len(next) {
		return true
	}
	for i := range cur {
		if cur[i].Name != next[i].Name || cur[i].Width != next[i].Width {
			return true
		}
		if c, n := cur[i].Bitrate, next[i].Bitrate; n > c*5/4 || n < c*3/4 {
			return true
		}
	}
	return false
}

// demand is the link bitrate this viewer reports to the rung it reads, for
// the rung's encoder to follow: its smoothed estimate under automatic
// control; none (0) for a rung chosen by hand, whose viewer takes the
// rung as it is and must not lower it for the others.
func (a *viewerAdapt) demand() int {
	if a.manual {
		return 0
	}
	return a.ctrl.Smoothed()
}

// setManual makes the rung in the viewer's choice until auto; a
// frame-rate-capped variant is its base rung for the controller.
func (a *viewerAdapt) setManual(in stream.FeedInfo) error {
	if in.LowFPSOf == "" {
		a.manualFeed = ""
		return a.ctrl.SetManual(in.Name)
	}
	if err := a.ctrl.SetManual(in.LowFPSOf); err != nil {
		return err
	}
	a.manualFeed = in.Name
	return nil
}

// feedFor returns the feed that carries decision d: the rung, or its
// frame-rate-capped variant when d caps the frame rate (the rung itself
// when the ladder has none), in codec c; nil when the stream has no such
// rung.
func (a *viewerAdapt) feedFor(st *stream.Stream, c stream.Codec, d adapt.Decision) *stream.Feed {
	name := d.Rung
	if a.manual && a.manualFeed != "" {
		name = a.manualFeed
	} else if d.FPSCap > 0 && !d.AudioOnly {
		for _, f := range st.RungsFor(c) {
			if f.Info().LowFPSOf == d.Rung {
				return f
			}
		}
	}
	f, err := st.RungFor(name, c)
	if err != nil {
		return nil
	}
	select {
	case <-f.Leaving():
		return nil // withdrawn (a source rung when a chain comes into force)
	default:
	}
	return f
}

// feedback gathers what the viewer's link said since the previous
// update: the Shaper's raw inputs.
func (a *viewerAdapt) feedback(now time.Time) adapt.Feedback {
	f := adapt.Feedback{Now: now, Packets: a.packets, Bytes: a.bytes, RungBitrate: a.rungBps,
		OnTop: len(a.rungs) > 0 && a.rungName == a.rungs[0].Name}
	a.packets, a.bytes = 0, 0
	if a.est != nil {
		f.Estimate = a.est.GetTargetBitrate()
		if u, ok := a.est.GetStats()["usage"].(string); ok && u == "overuse" {
			f.Overuse = true
		}
	}
	f.Loss = float64(a.stats.lossPPM.Load()) / 1e6
	f.LossAt = time.Unix(0, a.stats.lossAt.Load())
	f.RTT = time.Duration(a.stats.rttUS.Load()) * time.Microsecond
	f.NACKs = a.stats.nacks.Load()
	if a.meter != nil {
		ls := a.meter.take(now)
		f.Link = &adapt.LinkReading{QueueDelay: ls.QueueDelay, Delivered: ls.Delivered, Acked: ls.Acked}
		f.Link.QueueNow = a.meter.queueNow()
		f.Link.FellRate, f.Link.Fell = a.fell()
		// The feedback still tells only of packets sent before the latest
		// switch down: its queue is the old rung's, the settle time goes
		// on (for Hold.Max at most, should the feedback stop).
		f.DownUnacked = !a.downAt.IsZero() && now.Sub(a.downAt) < a.sc.Hold.Max && a.meter.ackedBefore(a.downAt)
		if a.est == nil {
			f.Estimate, f.Overuse = meterEstimate(a.meter.deliveredNow(), a.initial, f.Link.QueueNow, a.sc.StandingQueue)
		}
	}
	return f
}

// meterEstimate is the estimate without GCC, from the link meter alone:
// 1.5x the rate the link delivered (the most the shaper credits GCC's
// estimate with, once it knows what gets through), initial until the
// meter has measured; and overuse while the queue stands at half of
// standing or more (under half, the shaper ignores GCC's overuse too).
// Congestion beyond that is the shaper's: the queue, the loss, a fall.
func meterEstimate(delivered, initial int, queue, standing time.Duration) (int, bool) {
	est := initial
	if delivered > 0 {
		est = delivered * 3 / 2
	}
	return est, queue >= standing/2
}

// update runs the shaper and the controller once and records the outcome.
func (a *viewerAdapt) update(now time.Time, streamName, id string) adapt.Decision {
	s, d := a.shape.Decide(a.feedback(now))
	if a.meter != nil {
		a.meter.setResendBudget(a.ctrl.Smoothed())
	}
	prev := a.last
	a.last = d
	if d.Changed && prev.Rung != "" {
		metrics.ViewerSwitches.WithLabelValues(streamName, d.Reason).Inc()
	}
	if prev.Rung != "" && !a.since.IsZero() && now.After(a.since) {
		metrics.ViewerRungSeconds.WithLabelValues(streamName, prev.Rung, a.codec).Add(now.Sub(a.since).Seconds())
	}
	a.since = now
	metrics.ViewerEstimate.WithLabelValues(streamName, id).Set(float64(a.ctrl.Smoothed()))

	a.mu.Lock()
	defer a.mu.Unlock()
	in := &a.info
	in.Estimate, in.Loss, in.RTTMS = s.Estimate, s.Loss, float64(s.RTT.Microseconds())/1000
	in.State, in.AudioOnly, in.Manual = a.ctrl.State(), d.AudioOnly, a.manual
	if d.Changed && prev.Rung != "" {
		in.Switches = append(in.Switches, Switch{T: unix(now), From: prev.Rung, To: d.Rung, Reason: d.Reason})
		if len(in.Switches) > 100 {
			in.Switches = in.Switches[len(in.Switches)-100:]
		}
	}
	if now.Sub(a.lastHist) >= 500*time.Millisecond {
		a.lastHist = now
		in.History = append(in.History, Sample{T: unix(now), Estimate: s.Estimate, Smoothed: a.ctrl.Smoothed(),
			Rung: in.Rung, Bitrate: a.rungBps, Loss: s.Loss, RTTMS: in.RTTMS, AudioOnly: d.AudioOnly})
		if len(in.History) > historyLen {
			in.History = in.History[len(in.History)-historyLen:]
		}
	}
	return d
}

// rungBitrate is the bitrate of the rung called name as the controller
// sees it (the source rung's measured one), else bitrate (a
// frame-rate-capped variant's: half its base's).
func (a *viewerAdapt) rungBitrate(name string, bitrate int) int {
	for _, r := range a.rungs {
		if r.Name == name {
			return r.Bitrate
		}
	}
	return bitrate
}

// setRung records the rung actually being sent.
func (a *viewerAdapt) setRung(name string, bitrate int) {
	a.rungBps, a.rungName = a.rungBitrate(name, bitrate), name
	a.mu.Lock()
	a.info.Rung = name
	if n := len(a.info.History); n > 0 {
		a.info.History[n-1].Rung = name
		a.info.History[n-1].Bitrate = bitrate
	}
	a.mu.Unlock()
}

// initInfo fills what the API lists for a viewer whose controller has not
// run yet: the rung it starts on, whether it chose it, "connecting".
func (a *viewerAdapt) initInfo(rung string, manual bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.info.Rung, a.info.Manual, a.info.State = rung, manual, "connecting"
}

// current is what the viewer's stats message says: the info without its
// history, which is only copied for the API.
func (a *viewerAdapt) current() ViewerInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	in := a.info
	in.History, in.Switches = nil, nil
	return in
}

func (a *viewerAdapt) snapshot() ViewerInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	in := a.info
	in.History = append([]Sample{}, a.info.History...) // [] rather than null in JSON
	in.Switches = append([]Switch{}, a.info.Switches...)
	return in
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
