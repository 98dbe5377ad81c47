package signaling

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mutstream/mutstream/auth"
	"github.com/mutstream/mutstream/stream"
)

// Mount adds the WHIP and WHEP resources to r:
//
//	POST    /whip/:name, /whep/:name               offer in, 201 + Location + ETag + answer out
//	PATCH   /{whip,whep}/:name/sessions/:id        trickle ICE (204) or ICE restart (200)
//	DELETE  /{whip,whep}/:name/sessions/:id        end the session
//	OPTIONS on both                                CORS preflight, no auth
//
// WHEP requests are authorized to play, WHIP requests to publish, by the
// authorizer set with SetAuthorizer or SetPublishAuth.
func (s *Server) Mount(r gin.IRouter) {
	az := s.authz()
	s.mountResource(r, "whep", s.handleViewerOffer, az, auth.Play)
	s.mountResource(r, "whip", s.handlePublisherOffer, az, auth.Publish)
}

func (s *Server) handleViewerOffer(c *gin.Context) {
	const kind = "whep"
	name := c.Param("name")
	body, status, reason := readBody(c, "application/sdp")
	if status != 0 {
		refuse(c, kind, status, reason)
		return
	}
	sum, err := validateOffer(kind, body, s.cfg.ViewerCodecs...)
	if err != nil {
		refuse(c, kind, statusOf(err), err.Error())
		return
	}
	st, err := s.hub.Lookup(name)
	switch {
	case errors.Is(err, stream.ErrNotFound):
		refuse(c, kind, http.StatusNotFound, fmt.Sprintf("no stream named %q", name))
		return
	case errors.Is(err, stream.ErrNotLive):
		c.Header("Retry-After", "5")
		refuse(c, kind, http.StatusConflict, fmt.Sprintf("stream %q is not live", name))
		return
	case err != nil:
		refuse(c, kind, http.StatusInternalServerError, err.Error())
		return
	}
	codec, err := pickViewerCodec(sum, s.cfg.ViewerCodecs, st.Codecs())
	if err != nil {
		refuse(c, kind, statusOf(err), err.Error())
		return
	}
	rungName := c.Query("rung")
	if rungName == "auto" {
		rungName = ""
	}
	rung, err := st.RungFor(rungName, codec)
	if err != nil {
		if errors.Is(err, stream.ErrNotLive) {
			c.Header("Retry-After", "2")
			refuse(c, kind, http.StatusConflict, fmt.Sprintf("stream %q is starting", name))
			return
		}
		refuse(c, kind, http.StatusBadRequest, fmt.Sprintf("no rung %q in %s (have %s)", rungName, sdpCodec(codec), rungNames(st, codec)))
		return
	}
	relay := grantOf(c).Identity == auth.IdentityCluster
	v, answer, err := s.newViewerSession(st, rung, codec, rungName != "", relay, string(body))
	if err != nil {
		if errors.Is(err, ErrTooManyViewers) {
			c.Header("Retry-After", "10")
		}
		refuse(c, kind, statusOf(err), err.Error())
		return
	}
	s.created(c, &v.resourceBase, newCandidateOrder(s.cfg.PublicIPs, string(body), c.ClientIP()).apply(answer))
}

func rungNames(st *stream.Stream, c stream.Codec) string {
	var names []string
	for _, f := range st.RungsFor(c) {
		names = append(names, f.Info().Name)
	}
	return listOrNone(names)
}
