package signaling

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// handlePatch serves PATCH on a session (RFC 9725 4.3): trickled candidates
// (204), or an ICE restart (200 with the server's new credentials and
// candidates, and a new ETag). A restart needs If-Match (428 without it,
// 412 when stale); one that fails leaves the session as it was.
func (s *Server) handlePatch(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		v := s.lookupSession(c, kind)
		if v == nil {
			return
		}
		body, status, reason := readBody(c, "application/trickle-ice-sdpfrag")
		if status != 0 {
			refuse(c, kind, status, reason)
			return
		}
		frag, err := parseSDPFrag(body)
		if err != nil {
			refuse(c, kind, statusOf(err), err.Error())
			return
		}
		v.Lock()
		defer v.Unlock()
		ifMatch := strings.TrimSpace(c.GetHeader("If-Match"))
		matches := ifMatch == "*" || ifMatch == v.ETag()
		pc := v.PC()
		if frag.ufrag != "" && frag.ufrag != remoteUfrag(pc) {
			if ifMatch == "" {
				refuse(c, kind, http.StatusPreconditionRequired, "an ICE restart needs If-Match with the session's ETag")
				return
			}
			if !matches {
				refuse(c, kind, http.StatusPreconditionFailed, "If-Match does not match the session's ETag")
				return
			}
			answer, err := iceRestart(pc, frag)
			if err != nil {
				refuse(c, kind, http.StatusBadRequest, "ICE restart failed, the session goes on as before: "+oneLine(err.Error()))
				return
			}
			tag := `"` + newID()[:16] + `"`
			v.SetETag(tag)
			c.Header("ETag", tag)
			c.Data(http.StatusOK, "application/trickle-ice-sdpfrag", []byte(answer))
			return
		}
		if ifMatch != "" && !matches {
			refuse(c, kind, http.StatusPreconditionFailed, "If-Match does not match the session's ETag")
			return
		}
		for _, cand := range frag.cands {
			if err := pc.AddICECandidate(cand); err != nil {
				refuse(c, kind, http.StatusBadRequest, "bad candidate: "+oneLine(err.Error()))
				return
			}
		}
		c.Status(http.StatusNoContent)
	}
}

func remoteUfrag(pc *webrtc.PeerConnection) string {
	rd := pc.RemoteDescription()
	if rd == nil {
		return ""
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal([]byte(rd.SDP)); err != nil {
		return ""
	}
	if u := attr(sd.Attributes, "ice-ufrag"); u != "" {
		return u
	}
	for _, md := range sd.MediaDescriptions {
		if u := attr(md.Attributes, "ice-ufrag"); u != "" {
			return u
		}
	}
	return ""
}

// iceRestart applies the client's new credentials as a new offer and
// returns the server's new credentials and candidates.
func iceRestart(pc *webrtc.PeerConnection, frag sdpFrag) (string, error) {
	rd := pc.RemoteDescription()
	if rd == nil {
		return "", errors.New("no remote description")
	}
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: withCredentials(rd.SDP, frag.ufrag, frag.pwd)}
	if err := pc.SetRemoteDescription(offer); err != nil {
		return "", err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		return "", errors.New("ICE gathering timed out")
	}
	for _, cand := range frag.cands {
		if err := pc.AddICECandidate(cand); err != nil {
			return "", err
		}
	}
	return localFrag(pc.LocalDescription())
}
