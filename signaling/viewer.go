package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// maxControlMessage bounds a data channel message from a viewer.
const maxControlMessage = 4 << 10

// connectTimeout reaps a session whose client never completes ICE.
const connectTimeout = 15 * time.Second

// controlMessage is what the player and mediad say on the "control" data channel.
type controlMessage struct {
	Type     string `json:"type"`
	Rung     string `json:"rung,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Estimate int    `json:"estimate,omitempty"` // GCC's estimate, bps
	Smoothed int    `json:"smoothed,omitempty"` // what the controller decides on
	State    string `json:"state,omitempty"`    // the controller's state
}

// viewerSession sends one stream to one WHEP client. One goroutine (run)
// owns the feed readers and the packetizers; pion's callbacks only signal it.
type viewerSession struct {
	resourceBase
	srv  *Server
	st   *stream.Stream
	log  *slog.Logger
	done chan struct{}

	ctx    context.Context
	cancel context.CancelFunc

	video, audio *boundTrack
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
	wg           sync.WaitGroup
	removeViewer func()
}

// newViewerSession negotiates a PeerConnection for offer and starts sending
// the given rung. It returns the answer SDP.
func (s *Server) newViewerSession(st *stream.Stream, rung *stream.Feed, manual bool, offer string) (*viewerSession, string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	v := &viewerSession{
		resourceBase: newResourceBase("whep", st.Name()),
		srv:          s,
		st:           st,
		ctx:          ctx,
		cancel:       cancel,
		done:         make(chan struct{}),
		rungReq:      make(chan string, 4),
		connected:    make(chan struct{}),
	}
	v.manualRung = manual
	v.log = s.log.With("stream", st.Name(), "session", v.id[:8])
	// The session is listed (GET .../viewers, PATCH, DELETE) only once it
	// is complete: until then it holds a place under max_viewers.
	if err := s.reserve(v.Kind(), s.cfg.MaxViewers, ErrTooManyViewers); err != nil {
		cancel()
		return nil, "", err
	}
	answer, err := v.negotiate(offer)
	if err == nil {
		v.adapt.initInfo(rung.Info().Name, manual)
		err = s.publish(v)
	}
	if err != nil {
		cancel()
		if v.pc != nil {
			_ = v.pc.Close()
		}
		v.wg.Wait() // the RTCP readers, when negotiation got that far
		s.release(v.Kind())
		return nil, "", err
	}
	v.removeViewer = st.AddViewer()
	metrics.Viewers.WithLabelValues(st.Name()).Inc()
	v.wg.Add(1)
	go v.run(rung)
	go func() {
		v.wg.Wait()
		close(v.done)
		s.wg.Done()
	}()
	v.log.Info("viewer joined", "rung", rung.Info().Name)
	return v, answer, nil
}

func (v *viewerSession) negotiate(offer string) (string, error) {
	v.srv.ccMu.Lock()
	v.srv.newEstimator, v.srv.newMeter = nil, nil
	pc, err := v.srv.api.NewPeerConnection(webrtc.Configuration{ICEServers: v.srv.iceServers()})
	est, meter := v.srv.newEstimator, v.srv.newMeter
	v.srv.newEstimator, v.srv.newMeter = nil, nil
	v.srv.ccMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("new peer connection: %w", err)
	}
	v.adapt = &viewerAdapt{est: est, meter: meter, stats: &v.link, sc: v.srv.cfg.Sender}
	if meter != nil {
		meter.onResendDropped = func() {
			if f := v.feed.Load(); f != nil {
				f.RequestKeyframe()
			}
		}
	}
	v.pc = pc
	v.video, err = newBoundTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}, "video", "mediad-"+v.st.Name())
	if err != nil {
		return "", fmt.Errorf("video track: %w", err)
	}
	v.audio, err = newBoundTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "mediad-"+v.st.Name())
	if err != nil {
		return "", fmt.Errorf("audio track: %w", err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", &offerError{400, "offer rejected: " + oneLine(err.Error())}
	}
	var senders []*webrtc.RTPSender
	var videoSender *webrtc.RTPSender
	for _, t := range []*boundTrack{v.video, v.audio} {
		sender, err := pc.AddTrack(t)
		if err != nil {
			if t == v.audio {
				continue // an offer with no audio section still gets video
			}
			return "", &offerError{422, "cannot send H.264 video on this offer: " + oneLine(err.Error())}
		}
		senders = append(senders, sender)
		if t == v.video {
			videoSender = sender
		}
	}
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		v.log.Debug("connection state", "state", state.String())
		switch state {
		case webrtc.PeerConnectionStateConnected:
			v.connOnce.Do(func() { close(v.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			v.log.Info("viewer connection ended", "state", state.String())
			v.cancel()
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() == "events" {
			v.eventsDC.Store(dc) // the stream's events go out on it
			return
		}
		if dc.Label() != "control" {
			return
		}
		v.dc.Store(dc)
		dc.OnOpen(func() {
			if f := v.feed.Load(); f != nil {
				v.send(controlMessage{Type: "rung", Rung: f.Info().Name, Reason: "initial"})
			}
		})
		dc.OnMessage(func(msg webrtc.DataChannelMessage) { v.onControl(msg.Data) })
	})
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", &offerError{422, "cannot answer offer: " + oneLine(err.Error())}
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		return "", errors.New("ICE gathering timed out")
	}
	if v.srv.cfg.LowLatencyPlayout && videoSender != nil {
		for _, ext := range videoSender.GetParameters().HeaderExtensions {
			if ext.URI == playoutDelayURI && ext.ID > 0 && ext.ID < 15 {
				v.playoutExt = uint8(ext.ID)
			}
		}
	}
	for _, sender := range senders {
		v.wg.Add(1)
		go v.readRTCP(sender)
	}
	return pc.LocalDescription().SDP, nil
}

// readRTCP drains a sender's RTCP (pion needs it read) and answers PLI/FIR
// with a keyframe request to the feed being sent.
func (v *viewerSession) readRTCP(sender *webrtc.RTPSender) {
	defer v.wg.Done()
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		now := time.Now()
		for _, p := range pkts {
			v.link.observe(p, now)
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if f := v.feed.Load(); f != nil {
					f.RequestKeyframe()
				}
			}
		}
	}
}

func (v *viewerSession) onControl(data []byte) {
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
	if m.Type != "rung" {
		return
	}
	select {
	case v.rungReq <- m.Rung:
	default:
	}
}

func (v *viewerSession) send(m controlMessage) {
	dc := v.dc.Load()
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
		return
	}
	b, _ := json.Marshal(m)
	if err := dc.SendText(string(b)); err != nil {
		v.log.Debug("control send", "err", err)
	}
}

// Close ends the session and waits for its goroutines.
func (v *viewerSession) Close() {
	v.cancel()
	<-v.done
}

func (v *viewerSession) teardown() {
	_ = v.pc.Close()
	v.srv.remove(v)
	// The gauge first: the last viewer out of an ended stream lets the hub
	// delete the stream's series, which a later Dec would bring back.
	metrics.Viewers.WithLabelValues(v.st.Name()).Dec()
	v.removeViewer()
	v.log.Info("viewer left")
}

// flushControl waits, at most d, for queued control messages to leave.
func (v *viewerSession) flushControl(d time.Duration) {
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
