package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/pion/webrtc/v4"

	ingest "github.com/mutstream/mutstream/ingest/webrtc"
)

var streamNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// checkPublisherOffer says what a WHIP offer lacks or has too much of.
func checkPublisherOffer(sum offerSummary) error {
	switch {
	case sum.videoCount > 1:
		return &offerError{http.StatusUnprocessableEntity, fmt.Sprintf("offer has %d video tracks: mediad takes one video and at most one audio track", sum.videoCount)}
	case sum.audioCount > 1:
		return &offerError{http.StatusUnprocessableEntity, fmt.Sprintf("offer has %d audio tracks: mediad takes one video and at most one audio track", sum.audioCount)}
	case !sum.hasVideo:
		return &offerError{http.StatusUnprocessableEntity, "offer has no video track: mediad needs H.264 or VP8 video"}
	case !sum.has("video", "H264") && !sum.has("video", "VP8"):
		return &offerError{http.StatusUnprocessableEntity, fmt.Sprintf(
			"offer has no usable video codec (offered: %s; accepted: H264, VP8)", listOrNone(sum.videoCodecs))}
	case sum.hasAudio && !sum.has("audio", "OPUS"):
		return &offerError{http.StatusUnprocessableEntity, fmt.Sprintf(
			"offer has no usable audio codec (offered: %s; accepted: opus)", listOrNone(sum.audioCodecs))}
	}
	return nil
}

func (s *Server) handlePublisherOffer(c *gin.Context) {
	const kind = "whip"
	name := c.Param("name")
	if !streamNameRE.MatchString(name) {
		refuse(c, kind, http.StatusBadRequest, "a stream name is 1-64 of A-Z a-z 0-9 _ -")
		return
	}
	body, status, reason := readBody(c, "application/sdp")
	if status != 0 {
		refuse(c, kind, status, reason)
		return
	}
	sum, err := validateOffer(kind, body)
	if err != nil {
		refuse(c, kind, statusOf(err), err.Error())
		return
	}
	// The publish counts against its credential's stream cap until the
	// session ends.
	release, err := s.authz().Acquire(grantOf(c), name)
	if err != nil {
		refuse(c, kind, http.StatusForbidden, err.Error())
		return
	}
	ps, answer, err := s.newPublisherSession(name, string(body), sum, release, c.ClientIP())
	if err != nil {
		if errors.Is(err, ErrTooManyPublishers) {
			c.Header("Retry-After", "10")
		}
		refuse(c, kind, statusOf(err), err.Error())
		return
	}
	s.created(c, &ps.resourceBase, answer)
}

// publisherSession is one WHIP publisher: its PeerConnection and the
// ingest Publisher that feeds the hub.
type publisherSession struct {
	resourceBase
	srv *Server
	log *slog.Logger
	pub *ingest.Publisher
	// release ends the publish's count against its credential's cap.
	release func()
	stop    chan struct{}
	once    sync.Once
	done    chan struct{}
}

// newPublisherSession negotiates and starts a WHIP session; release is
// called once, when the session ends or fails to start. clientIP is the
// HTTP client's address, which orders the answer's candidates when the
// offer has none.
func (s *Server) newPublisherSession(name, offer string, sum offerSummary, release func(), clientIP string) (*publisherSession, string, error) {
	ps := &publisherSession{
		resourceBase: newResourceBase("whip", name),
		srv:          s,
		release:      release,
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
	}
	ps.log = s.log.With("stream", name, "session", ps.id[:8], "protocol", "whip")
	if err := s.add(ps, s.cfg.MaxPublishers, ErrTooManyPublishers); err != nil {
		release()
		return nil, "", err
	}
	answer, err := ps.negotiate(offer, sum)
	if err == nil {
		answer = newCandidateOrder(s.cfg.PublicIPs, offer, clientIP).apply(answer)
	}
	if err != nil {
		if ps.pub != nil {
			ps.pub.Close()
		}
		if ps.pc != nil {
			_ = ps.pc.Close()
		}
		s.remove(ps)
		release()
		s.wg.Done()
		return nil, "", err
	}
	go ps.run()
	ps.log.Info("publisher connected")
	return ps, answer, nil
}

func (ps *publisherSession) negotiate(offer string, sum offerSummary) (string, error) {
	s := ps.srv
	pc, err := s.publishAPI.NewPeerConnection(webrtc.Configuration{ICEServers: s.iceServers()})
	if err != nil {
		return "", fmt.Errorf("new peer connection: %w", err)
	}
	ps.pc = pc
	ps.pub = ingest.NewPublisher(s.cfg.WHIP, s.hub, ps.name, pc, ingest.Want{Video: sum.hasVideo, Audio: sum.hasAudio}, ps.end, ps.log)
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		switch state {
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			ps.log.Info("publisher connection ended", "state", state.String())
			if state == webrtc.PeerConnectionStateFailed {
				countICEFailed(ps.Kind())
			}
			ps.end()
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", &offerError{http.StatusBadRequest, "offer rejected: " + oneLine(err.Error())}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", &offerError{http.StatusUnprocessableEntity, "cannot answer offer: " + oneLine(err.Error())}
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
	return pc.LocalDescription().SDP, nil
}

// end asks the session to stop; it never blocks (it is the hub's kick too).
func (ps *publisherSession) end() { ps.once.Do(func() { close(ps.stop) }) }

func (ps *publisherSession) run() {
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		ps.srv.watchConsent(ctx, ps.Kind(), ps.pc, nil, ps.end)
	}()
	defer func() {
		cancel()
		<-watched
		ps.srv.remove(ps)
		ps.release()
		ps.srv.wg.Done()
		close(ps.done)
	}()
	select {
	case <-ps.stop:
	case <-ps.pub.Done():
		if err := ps.pub.Err(); err != nil {
			ps.log.Info("publisher ended", "reason", err)
		}
	}
	ps.pub.Close()
	_ = ps.pc.Close()
	ps.log.Info("publisher left")
}

// Close ends the session and waits for it.
func (ps *publisherSession) Close() {
	ps.end()
	<-ps.done
}
