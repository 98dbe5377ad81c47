package signaling

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/auth"
	"github.com/mutstream/mutstream/metrics"
)

// session is a WHIP or WHEP resource: the thing a Location URL names.
type session interface {
	ID() string
	StreamName() string
	Kind() string // "whip" or "whep"
	PC() *webrtc.PeerConnection
	// Lock serialises PATCH and DELETE on the session.
	Lock()
	Unlock()
	ETag() string
	SetETag(string)
	Close()
}

// resourceBase is what every session shares.
type resourceBase struct {
	sync.Mutex
	id, name, kind string
	pc             *webrtc.PeerConnection
	tagMu          sync.Mutex
	tag            string
}

func newResourceBase(kind, name string) resourceBase {
	id := newID()
	return resourceBase{id: id, name: name, kind: kind, tag: `"` + newID()[:16] + `"`}
}

// ID returns the session id.
func (r *resourceBase) ID() string { return r.id }

// StreamName returns the stream the session belongs to.
func (r *resourceBase) StreamName() string { return r.name }

// Kind returns "whip" or "whep".
func (r *resourceBase) Kind() string { return r.kind }

// PC returns the session's PeerConnection.
func (r *resourceBase) PC() *webrtc.PeerConnection { return r.pc }

// ETag returns the entity tag of the session's ICE state.
func (r *resourceBase) ETag() string {
	r.tagMu.Lock()
	defer r.tagMu.Unlock()
	return r.tag
}

// SetETag replaces the entity tag after an ICE restart.
func (r *resourceBase) SetETag(t string) {
	r.tagMu.Lock()
	r.tag = t
	r.tagMu.Unlock()
}

func (r *resourceBase) location() string {
	return fmt.Sprintf("/%s/%s/sessions/%s", r.kind, r.name, r.id)
}

// mountResource adds one WHIP or WHEP resource family to r; every POST,
// PATCH and DELETE is rate limited, then authorized for action.
func (s *Server) mountResource(r gin.IRouter, kind string, post gin.HandlerFunc, az authorizer, action auth.Action) {
	base := "/" + kind + "/:name"
	sess := base + "/sessions/:id"
	const allowBase, allowSess = "POST, OPTIONS", "PATCH, DELETE, OPTIONS"
	r.OPTIONS(base, s.options(allowBase, "Accept-Post", "application/sdp"))
	r.OPTIONS(sess, s.options(allowSess, "Accept-Patch", "application/trickle-ice-sdpfrag"))
	r.POST(base, s.limited(kind), authorized(kind, az, action), s.beforeOffer(kind), post)
	r.PATCH(sess, s.limited(kind), authorized(kind, az, action), s.handlePatch(kind))
	r.DELETE(sess, s.limited(kind), authorized(kind, az, action), s.handleDelete(kind))
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodHead, http.MethodPatch, http.MethodDelete} {
		if m != http.MethodPatch && m != http.MethodDelete {
			r.Handle(m, sess, notAllowed(kind, allowSess))
		}
		r.Handle(m, base, notAllowed(kind, allowBase))
	}
	r.POST(sess, notAllowed(kind, allowSess))
}

func cors(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Retry-After, Accept-Patch, Accept-Post")
}

// options answers CORS preflight and OPTIONS, without auth: its Link
// headers carry no credentials.
func (s *Server) options(allow, acceptHeader, accept string) gin.HandlerFunc {
	return func(c *gin.Context) {
		cors(c)
		c.Header("Allow", allow)
		c.Header(acceptHeader, accept)
		s.linkHeaders(c, false)
		c.Status(http.StatusNoContent)
	}
}

func notAllowed(kind, allow string) gin.HandlerFunc {
	return func(c *gin.Context) {
		cors(c)
		c.Header("Allow", allow)
		refuse(c, kind, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed here (allowed: %s)", c.Request.Method, allow))
	}
}

// linkHeaders advertises the configured STUN/TURN servers (RFC 9725 4.6).
// Servers that need credentials, and fresh TURN REST credentials, go only
// to an authorized request.
func (s *Server) linkHeaders(c *gin.Context, authorized bool) {
	link := func(u, user, cred string) {
		v := fmt.Sprintf("<%s>; rel=\"ice-server\"", u)
		if user != "" {
			v += fmt.Sprintf("; username=%q; credential=%q; credential-type=\"password\"", user, cred)
		}
		c.Writer.Header().Add("Link", v)
	}
	for _, is := range s.cfg.ICEServers {
		if is.Username != "" && !authorized {
			continue
		}
		for _, u := range is.URLs {
			link(u, is.Username, is.Credential)
		}
	}
	if t := s.cfg.TURN; authorized && t.Secret != "" {
		user, cred := auth.TURNCredentials(t.Secret, newID()[:16], time.Now().Add(t.TTL))
		for _, u := range t.URLs {
			link(u, user, cred)
		}
	}
}

// limited applies the per-address rate limit of kind's clients. The
// address is the router's ClientIP: the socket's peer, unless that peer
// is a trusted proxy (http.trusted_proxies).
func (s *Server) limited(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		cors(c)
		ok, wait := s.limit.allow(kind, c.ClientIP(), time.Now())
		if !ok {
			c.Header("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
			refuse(c, kind, http.StatusTooManyRequests, "too many requests from this address; retry later")
			c.Abort()
		}
	}
}

// OfferHook sees a WHEP offer for stream once it is within the rate limit
// and authorized, before the session is made; it returns false when it
// answered the request itself (the offer then ends there).
type OfferHook func(w http.ResponseWriter, r *http.Request, stream string) bool

// SetBeforeOffer sets the hook every WHEP offer goes through. Call it
// before the server is mounted.
func (s *Server) SetBeforeOffer(f OfferHook) {
	s.beforeOfferFn = f
}

func (s *Server) beforeOffer(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if kind == "whep" && s.beforeOfferFn != nil && !s.beforeOfferFn(c.Writer, c.Request, c.Param("name")) {
			c.Abort()
		}
	}
}

// authorized asks az about the request's bearer token and keeps the
// grant for the handler.
func authorized(kind string, az authorizer, action auth.Action) gin.HandlerFunc {
	return func(c *gin.Context) {
		token, _ := bearer(c.GetHeader("Authorization"))
		g, err := az.Authorize(c.Request.Context(), auth.Request{Action: action, Stream: c.Param("name"), Token: token, Addr: c.ClientIP(), Protocol: kind})
		if err != nil {
			refuseAuth(c, kind, err)
			c.Abort()
			return
		}
		c.Set(grantKey, g)
	}
}

// grantKey is where authorized leaves the grant in the gin context.
const grantKey = "mediad.auth.grant"

func grantOf(c *gin.Context) auth.Grant {
	g, _ := c.Get(grantKey)
	grant, _ := g.(auth.Grant)
	return grant
}

// refuseAuth answers an authorization refusal: 401 for a missing or wrong
// token, 403 for a webhook's or the stream cap's no, 503 when the webhook
// cannot be asked.
func refuseAuth(c *gin.Context, kind string, err error) {
	switch {
	case errors.Is(err, auth.ErrNoToken), errors.Is(err, auth.ErrBadToken):
		c.Header("WWW-Authenticate", `Bearer realm="mediad"`)
		refuse(c, kind, http.StatusUnauthorized, err.Error())
	case errors.Is(err, auth.ErrWebhookFailed):
		c.Header("Retry-After", "5")
		refuse(c, kind, http.StatusServiceUnavailable, err.Error())
	default:
		refuse(c, kind, http.StatusForbidden, err.Error())
	}
}

func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// tokenEqual compares tokens in constant time; an empty want matches nothing.
func tokenEqual(want, got string) bool { return auth.Equal(want, got) }

// refuse answers with status and a one-line reason, and counts it.
func refuse(c *gin.Context, kind string, status int, reason string) {
	metrics.HTTPRejected.WithLabelValues(kind, strconv.Itoa(status)).Inc()
	c.Header("Content-Type", "text/plain; charset=utf-8")
	c.String(status, reason+"\n")
}

// readBody checks the content type and the size and returns the body.
func readBody(c *gin.Context, wantType string) ([]byte, int, string) {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != wantType {
		return nil, http.StatusUnsupportedMediaType, "Content-Type must be " + wantType
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

// lookupSession finds the session a URL names, checking its kind and stream.
func (s *Server) lookupSession(c *gin.Context, kind string) session {
	v := s.session(c.Param("id"))
	if v == nil || v.Kind() != kind || v.StreamName() != c.Param("name") {
		refuse(c, kind, http.StatusNotFound, "no such session")
		return nil
	}
	return v
}

func (s *Server) handleDelete(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		v := s.lookupSession(c, kind)
		if v == nil {
			return
		}
		v.Close()
		c.Status(http.StatusOK)
	}
}

// created answers a POST: 201, Location, ETag, ice-server links, the answer.
func (s *Server) created(c *gin.Context, r *resourceBase, answer string) {
	c.Header("Location", r.location())
	c.Header("ETag", r.ETag())
	s.linkHeaders(c, true)
	c.Data(http.StatusCreated, "application/sdp", []byte(answer))
}
