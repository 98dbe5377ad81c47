package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/sender"
	"github.com/mutstream/mutstream/stream"
)

// viewerSession is one WHEP client's resource: its PeerConnection and the
// negotiation; its media (the feed readers, packetizers, controller) is a
// sender.Viewer, whose loop pion's callbacks only signal.
type viewerSession struct {
	resourceBase
	srv  *Server
	st   *stream.Stream
	log  *slog.Logger
	done chan struct{}

	ctx    context.Context
	cancel context.CancelFunc

	media        *sender.Viewer
	tracks       sender.Tracks
	wg           sync.WaitGroup
	removeViewer func()
}

// ViewerInfo, Sample and Switch are a viewer's state and history, as the
// API lists them.
type (
	ViewerInfo = sender.ViewerInfo
	Sample     = sender.Sample
	Switch     = sender.Switch
)

// newViewerSession negotiates a PeerConnection for offer and starts sending
// the given rung. It returns the answer SDP.
func (s *Server) newViewerSession(st *stream.Stream, rung *stream.Feed, codec stream.Codec, manual, relay bool, offer string) (*viewerSession, string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	v := &viewerSession{
		resourceBase: newResourceBase("whep", st.Name()),
		srv:          s,
		st:           st,
		ctx:          ctx,
		cancel:       cancel,
		done:         make(chan struct{}),
	}
	v.log = s.log.With("stream", st.Name(), "session", v.id[:8])
	// The session is listed (GET .../viewers, PATCH, DELETE) only once it
	// is complete: until then it holds a place under max_viewers.
	if err := s.reserve(v.Kind(), s.cfg.MaxViewers, ErrTooManyViewers); err != nil {
		cancel()
		return nil, "", err
	}
	answer, err := v.negotiate(offer, codec, manual, relay)
	if err == nil {
		v.media.InitInfo(rung.Info().Name, manual)
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
	metrics.ViewersByCodec.WithLabelValues(st.Name(), string(codec)).Inc()
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		v.media.Run(rung, v.tracks)
		v.cancel() // ends the consent watch
	}()
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		s.watchConsent(v.ctx, v.Kind(), v.pc, v.media.Heard, v.cancel)
	}()
	go func() {
		v.wg.Wait()
		close(v.done)
		s.wg.Done()
	}()
	v.log.Info("viewer joined", "rung", rung.Info().Name, "codec", string(codec))
	return v, answer, nil
}

func (v *viewerSession) negotiate(offer string, codec stream.Codec, manual, relay bool) (string, error) {
	v.srv.ccMu.Lock()
	v.srv.newEstimator, v.srv.newMeter = nil, nil
	pc, err := v.srv.api.NewPeerConnection(webrtc.Configuration{ICEServers: v.srv.iceServers()})
	est, meter := v.srv.newEstimator, v.srv.newMeter
	v.srv.newEstimator, v.srv.newMeter = nil, nil
	v.srv.ccMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("new peer connection: %w", err)
	}
	v.media = sender.NewViewer(sender.Options{
		ID: v.id, Stream: v.st, Log: v.log, Ctx: v.ctx,
		Estimator: est, Meter: meter,
		Queue: v.srv.cfg.ViewerQueue, Config: v.srv.cfg.Adapt, InitialBitrate: v.srv.cfg.InitialBitrate,
		Manual: manual, Relay: relay, Teardown: v.teardown, Codec: codec,
		PC: pc, Direct: v.srv.directConn(),
	})
	v.pc = pc
	v.tracks.Video, err = sender.NewBoundTrack(webrtc.RTPCodecCapability{MimeType: viewerMime[codec], ClockRate: 90000}, "video", "mediad-"+v.st.Name())
	if err != nil {
		return "", fmt.Errorf("video track: %w", err)
	}
	v.tracks.Audio, err = sender.NewBoundTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "mediad-"+v.st.Name())
	if err != nil {
		return "", fmt.Errorf("audio track: %w", err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", &offerError{400, "offer rejected: " + oneLine(err.Error())}
	}
	var senders []*webrtc.RTPSender
	var videoSender *webrtc.RTPSender
	for _, t := range []*sender.BoundTrack{v.tracks.Video, v.tracks.Audio} {
		sender, err := pc.AddTrack(t)
		if err != nil {
			if t == v.tracks.Audio {
				continue // an offer with no audio section still gets video
			}
			return "", &offerError{422, "cannot send " + sdpCodec(codec) + " video on this offer: " + oneLine(err.Error())}
		}
		senders = append(senders, sender)
		if t == v.tracks.Video {
			videoSender = sender
		}
	}
	// The answer names only the codec the viewer is sent.
	for _, tr := range pc.GetTransceivers() {
		if tr.Sender() == videoSender && videoSender != nil {
			if err := tr.SetCodecPreferences(answerVideo(codec)); err != nil {
				v.log.Debug("video codec preferences", "err", err)
			}
		}
	}
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		v.log.Debug("connection state", "state", state.String())
		switch state {
		case webrtc.PeerConnectionStateConnected:
			v.media.Connected()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			v.log.Info("viewer connection ended", "state", state.String())
			if state == webrtc.PeerConnectionStateFailed {
				countICEFailed(v.Kind())
			}
			v.cancel()
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() == "events" {
			v.media.SetEvents(dc) // the stream's events go out on it
			return
		}
		if dc.Label() != "control" {
			return
		}
		v.media.SetControl(dc)
		dc.OnOpen(v.media.ControlOpened)
		dc.OnMessage(func(msg webrtc.DataChannelMessage) { v.media.OnControl(msg.Data) })
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
			if ext.URI == sender.PlayoutDelayURI && ext.ID > 0 && ext.ID < 15 {
				v.tracks.PlayoutExt = uint8(ext.ID)
			}
		}
	}
	for _, s := range senders {
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			v.media.ReadRTCP(s)
		}()
	}
	return pc.LocalDescription().SDP, nil
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
	metrics.ViewersByCodec.WithLabelValues(v.st.Name(), string(v.media.Codec())).Dec()
	v.removeViewer()
	v.log.Info("viewer left")
}

// Viewers returns the state and history of every viewer of a stream.
func (s *Server) Viewers(streamName string) []ViewerInfo {
	s.mu.Lock()
	var vs []*viewerSession
	for _, x := range s.sessions {
		if v, ok := x.(*viewerSession); ok && v.StreamName() == streamName {
			vs = append(vs, v)
		}
	}
	s.mu.Unlock()
	out := make([]ViewerInfo, 0, len(vs))
	for _, v := range vs {
		in := v.media.Info()
		in.ID = v.id[:8]
		out = append(out, in)
	}
	return out
}
