package signaling

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// Mount adds the WHEP endpoints to r:
//
//	POST    /whep/:name                  offer in, 201 + Location + answer out
//	DELETE  /whep/:name/sessions/:id     end the session
//	OPTIONS /whep/:name                  CORS preflight
func (s *Server) Mount(r gin.IRouter) {
	r.POST("/whep/:name", s.handleOffer)
	r.OPTIONS("/whep/:name", s.handleOptions)
	r.DELETE("/whep/:name/sessions/:id", s.handleDelete)
	r.OPTIONS("/whep/:name/sessions/:id", s.handleOptions)
}

func cors(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, DELETE, PATCH, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Retry-After")
}

func (s *Server) handleOptions(c *gin.Context) {
	cors(c)
	c.Header("Accept-Post", "application/sdp")
	c.Status(http.StatusNoContent)
}

// refuse answers with status and a one-line reason, and counts it.
func refuse(c *gin.Context, status int, reason string) {
	metrics.HTTPRejected.WithLabelValues("whep", fmt.Sprint(status)).Inc()
	c.Header("Content-Type", "text/plain; charset=utf-8")
	c.String(status, reason+"\n")
}

// readOffer checks the content type and size and returns the body.
func readOffer(c *gin.Context) ([]byte, int, string) {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/sdp" {
		return nil, http.StatusUnsupportedMediaType, "Content-Type must be application/sdp"
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, MaxSDPSize+1))
	if err != nil {
		return nil, http.StatusBadRequest, "cannot read body: " + oneLine(err.Error())
	}
	if len(body) > MaxSDPSize {
		return nil, http.StatusRequestEntityTooLarge, ErrSDPTooLarge.Error()
	}
	return body, 0, ""
}

func (s *Server) handleOffer(c *gin.Context) {
	cors(c)
	name := c.Param("name")
	body, status, reason := readOffer(c)
	if status != 0 {
		refuse(c, status, reason)
		return
	}
	sum, err := parseOffer(body)
	if err == nil {
		err = checkViewerOffer(sum)
	}
	if err != nil {
		refuse(c, statusOf(err), err.Error())
		return
	}
	st, err := s.hub.Lookup(name)
	switch {
	case errors.Is(err, stream.ErrNotFound):
		refuse(c, http.StatusNotFound, fmt.Sprintf("no stream named %q", name))
		return
	case errors.Is(err, stream.ErrNotLive):
		c.Header("Retry-After", "5")
		refuse(c, http.StatusConflict, fmt.Sprintf("stream %q is not live", name))
		return
	case err != nil:
		refuse(c, http.StatusInternalServerError, err.Error())
		return
	}
	rungName := c.Query("rung")
	if rungName == "auto" {
		rungName = ""
	}
	rung, err := st.Rung(rungName)
	if err != nil {
		if errors.Is(err, stream.ErrNotLive) {
			c.Header("Retry-After", "2")
			refuse(c, http.StatusConflict, fmt.Sprintf("stream %q is starting", name))
			return
		}
		refuse(c, http.StatusBadRequest, fmt.Sprintf("no rung %q (have %s)", rungName, rungNames(st)))
		return
	}
	v, answer, err := s.newViewerSession(st, rung, string(body))
	if err != nil {
		if errors.Is(err, ErrTooManyViewers) {
			c.Header("Retry-After", "10")
		}
		refuse(c, statusOf(err), err.Error())
		return
	}
	c.Header("Location", fmt.Sprintf("/whep/%s/sessions/%s", name, v.id))
	c.Header("ETag", `"`+v.id[:16]+`"`)
	c.Data(http.StatusCreated, "application/sdp", []byte(answer))
}

func (s *Server) handleDelete(c *gin.Context) {
	cors(c)
	v := s.session(c.Param("id"))
	if v == nil || v.st.Name() != c.Param("name") {
		refuse(c, http.StatusNotFound, "no such session")
		return
	}
	v.Close()
	c.Status(http.StatusOK)
}

func rungNames(st *stream.Stream) string {
	var names []string
	for _, f := range st.Rungs() {
		names = append(names, f.Info().Name)
	}
	return listOrNone(names)
}
