package sender

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// maxControlMessage bounds a data channel message from a viewer.
const maxControlMessage = 4 << 10

// connectTimeout reaps a session whose client never completes ICE.
const connectTimeout = 15 * time.Second

// PlayoutDelayURI is the RTP header extension by which a sender bounds the
// receiver's playout delay.
const PlayoutDelayURI = playoutDelayURI

// controlMessage is what the player and mediad say on the "control" data channel.
type controlMessage struct {
	Type     string `json:"type"`
	Rung     string `json:"rung,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Estimate int    `json:"estimate,omitempty"` // GCC's estimate, bps
	Smoothed int    `json:"smoothed,omitempty"` // what the controller decides on
	State    string `json:"state,omitempty"`    // the controller's state
}

// Options is what a Viewer is built from.
type Options struct {
	// ID is the session's id; its first 8 characters name the viewer in
	// metrics and the API.
	ID     string
	Stream *stream.Stream
	Log    *slog.Logger
	// Ctx ends the media loop when done.
	Ctx context.Context
	// Estimator and Meter are the PeerConnection's bandwidth estimator and
	// link meter, each nil when it has none.
	Estimator cc.BandwidthEstimator
	Meter     *Meter
	// InitialBitrate is the estimate before the link meter has measured
	// a delivered rate (Config.Estimator "meter"; GCC has its own).
	InitialBitrate int
	// Queue is the number of packets the viewer may fall behind a feed.
	Queue int
	// Config is the adaptation's: controller, shaper and mechanics.
	Config Config
	// Manual says the viewer chose its first rung by name.
	Manual bool
	// Relay says the viewer is another node of the cluster (it carried
	// the cluster token): only such a viewer may report a "demand" for
	// its own viewers. Any other viewer's demand is ignored and counted.
	Relay bool
	// Codec is the video codec negotiated with the viewer: it reads that
	// codec's feeds (stream.Stream.RungsFor). Empty means H.264.
	Codec stream.Codec
	// Teardown is called once, when the media loop ends: it closes the
	// PeerConnection and forgets the session.
	Teardown func()
	// PC is the viewer's PeerConnection and Direct the UDP port its ICE
	// runs on: once connected, the viewer encrypts its RTP and writes it
	// to Direct itself (direct.go). Either nil: RTP goes through pion.
	PC     *webrtc.PeerConnection
	Direct *Port
}

// A Viewer sends one stream to one WebRTC viewer: its media loop (Run)
// moves packets from the feeds to the tracks, runs the viewer's
// controller and carries out rung switches; the PeerConnection's
// callbacks only signal it through its methods.
type Viewer struct {
	id    string
	st    *stream.Stream
	codec stream.Codec // the video codec sent: the feeds read are that codec's
	log   *slog.Logger
	ctx   context.Context
	cfg   Config
	// queue is the number of packets the viewer may fall behind a feed.
	queue int

	video, audio *BoundTrack
	rungReq      chan string
	playoutExt   uint8 // negotiated id of the playout-delay extension, 0 if none
	adapt        *viewerAdapt
	link         linkStats
	manualRung   bool // the viewer asked for its rung by name
	connected    chan struct{}
	connOnce     sync.Once
	dc           atomic.Pointer[webrtc.DataChannel]
	eventsDC     atomic.Pointer[webrtc.DataChannel] // opened by viewers who want the stream's events
	feed         atomic.Pointer[stream.Feed]        // the video feed being sent
	teardown     func()

	// relayDemand is what a relay viewer (a cluster edge pinned to a
	// rung) reports of its own viewers' links: a "demand" message.
	relayDemand atomic.Int64
	relay       bool // Options.Relay

	pc         *webrtc.PeerConnection
	directConn *Port
	sendPath   *sendPath
	direct     *directOut // set by the loop once connected; nil: RTP through pion
	// heardIn is direct's receiving side, for Heard (another goroutine).
	heardIn atomic.Pointer[directIn]
}

// NewViewer builds a viewer's media state; Run starts sending.
func NewViewer(o Options) *Viewer {
	v := &Viewer{
		id:         o.ID,
		st:         o.Stream,
		codec:      o.Codec,
		log:        o.Log,
		ctx:        o.Ctx,
		rungReq:    make(chan string, 4),
		connected:  make(chan struct{}),
		manualRung: o.Manual,
		relay:      o.Relay,
		teardown:   o.Teardown,
		pc:         o.PC,
		directConn: o.Direct,
	}
	if v.codec == "" {
		v.codec = stream.CodecH264
	}
	v.cfg, v.queue = o.Config, o.Queue
	var meter *linkMeter
	if o.Meter != nil {
		meter, v.sendPath = o.Meter.m, o.Meter.s
	}
	v.adapt = &viewerAdapt{est: o.Estimator, meter: meter, stats: &v.link, sc: o.Config, initial: o.InitialBitrate}
	v.adapt.codec = string(v.codec)
	v.adapt.info.Codec = v.adapt.codec
	if meter != nil {
		meter.onRTCP = v.observeRTCP
		meter.onReport, meter.onNack = v.link.report, v.link.nack
		meter.onResendDropped = v.RequestKeyframe
	}
	return v
}

// Tracks are the viewer's outgoing tracks, as negotiated.
type Tracks struct {
	Video, Audio *BoundTrack
	// PlayoutExt is the negotiated id of the playout-delay header
	// extension, 0 for none.
	PlayoutExt uint8
}

// Run is the viewer's media loop, from rung; it returns when the viewer
// is gone, having called Teardown.
func (v *Viewer) Run(rung *stream.Feed, t Tracks) {
	v.video, v.audio, v.playoutExt = t.Video, t.Audio, t.PlayoutExt
	v.run(rung)
}

// Connected says the PeerConnection is up: media can flow.
func (v *Viewer) Connected() {
	v.connOnce.Do(func() { close(v.connected) })
}

// RequestKeyframe asks the feed being sent for a keyframe.
func (v *Viewer) RequestKeyframe() {
	if f := v.feed.Load(); f != nil {
		f.RequestKeyframe()
	}
}

// SetEvents makes dc the channel the stream's events go out on.
func (v *Viewer) SetEvents(dc *webrtc.DataChannel) { v.eventsDC.Store(dc) }

// SetControl makes dc the control channel.
func (v *Viewer) SetControl(dc *webrtc.DataChannel) { v.dc.Store(dc) }

// ControlOpened tells the viewer, on the control channel just opened,
// which rung it is on.
func (v *Viewer) ControlOpened() {
	if f := v.feed.Load(); f != nil {
		v.send(controlMessage{Type: "rung", Rung: f.Info().Name, Reason: "initial"})
	}
}

// OnControl takes one message from the control channel.
func (v *Viewer) OnControl(data []byte) {
	if len(data) > maxControlMessage {
		metrics.HTTPRejected.WithLabelValues("datachannel", "too_large").Inc()
		return
	}
	var m controlMessage
	if err := json.Unmarshal(data, &m); err != nil {
		metrics.HTTPRejected.WithLabelValues("datachannel", "bad_json").Inc()
		v.log.Debug("bad control message", "err", err)
		return
	}
	if m.Type == "demand" {
		if !v.relay {
			// Only another node speaks for its viewers: anyone else
			// could pull a shared rung's encoder down for everybody.
			metrics.HTTPRejected.WithLabelValues("datachannel", "demand_not_relay").Inc()
			return
		}
		v.relayDemand.Store(int64(max(m.Estimate, 0)))
		return
	}
	if m.Type != "rung" {
		return
	}
	select {
	case v.rungReq <- m.Rung:
	default:
	}
}

// ReadRTCP drains a sender's RTCP (pion needs it read) until it fails,
// takes in the viewer's reports and answers PLI/FIR with a keyframe
// request to the feed being sent.
func (v *Viewer) ReadRTCP(sender *webrtc.RTPSender) {
	if v.adapt.meter != nil {
		// The link meter hands each report to the viewer (observeRTCP,
		// link.report, link.nack) as it passes: here the reports are only
		// drained (pion needs them read).
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		now := time.Now()
		for _, p := range pkts {
			v.observeRTCP(p, now)
		}
	}
}

// observeRTCP takes one RTCP packet from the viewer: its link statistics,
// and a keyframe for a PLI or FIR.
func (v *Viewer) observeRTCP(p rtcp.Packet, now time.Time) {
	v.link.observe(p, now)
	switch p.(type) {
	case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
		v.RequestKeyframe()
	}
}

func (v *Viewer) send(m controlMessage) {
	dc := v.dc.Load()
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
		return
	}
	b, _ := json.Marshal(m)
	if err := dc.SendText(string(b)); err != nil {
		v.log.Debug("control send", "err", err)
	}
}

// flushControl waits, at most d, for queued control messages to leave.
func (v *Viewer) flushControl(d time.Duration) {
	dc := v.dc.Load()
	if dc == nil {
		return
	}
	deadline := time.Now().Add(d)
	for dc.BufferedAmount() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let SCTP put the last chunk on the wire
}

// Codec is the video codec the viewer is sent.
func (v *Viewer) Codec() stream.Codec { return v.codec }

// rungs returns the stream's video feeds in the viewer's codec, largest
// first.
func (v *Viewer) rungs() []*stream.Feed { return v.st.RungsFor(v.codec) }

// rung returns the stream's video feed of that name in the viewer's
// codec; "" is the top one.
func (v *Viewer) rung(name string) (*stream.Feed, error) { return v.st.RungFor(name, v.codec) }

// InitInfo fills what the API lists for a viewer whose controller has not
// run yet: the rung it starts on, whether it chose it, "connecting".
func (v *Viewer) InitInfo(rung string, manual bool) { v.adapt.initInfo(rung, manual) }

// Info is the viewer's state and recent history; ID is left empty.
func (v *Viewer) Info() ViewerInfo { return v.adapt.snapshot() }

// A Meter is one PeerConnection's link meter, handed from the interceptor
// that made it to the viewer that reads it.
type Meter struct {
	m *linkMeter
	s *sendPath
}
