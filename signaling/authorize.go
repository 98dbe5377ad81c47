package signaling

import (
	"context"
	"errors"

	"github.com/mutstream/mutstream/auth"
)

// authorizer is what the WHIP and WHEP resources ask before they act: the
// shared *auth.Authorizer, or tokenAuth for a server given only a publish
// function.
type authorizer interface {
	// Authorize says whether r may go ahead and by which credential.
	Authorize(ctx context.Context, r auth.Request) (auth.Grant, error)
	// Acquire counts a publish against its credential's stream cap; call
	// release when it ends.
	Acquire(g auth.Grant, stream string) (release func(), err error)
}

// authFunc is the Server's authorizer field type (the name is historical).
type authFunc = authorizer

var _ authorizer = (*auth.Authorizer)(nil)

// SetAuthorizer makes a decide every WHIP and WHEP request (publish and
// play), with its JWTs, webhook and stream cap. A webrtc.viewer_token
// that a would not enforce is an error. Call before Mount.
func (s *Server) SetAuthorizer(a *auth.Authorizer) error {
	if a == nil {
		return errors.New("signaling: nil authorizer")
	}
	if s.cfg.ViewerToken != "" && a.PlayOpen() {
		return errors.New("webrtc.viewer_token is set but the authorizer lets anyone play: build it with the viewer token (config.NewAuthorizer)")
	}
	s.publishAuth = a
	return nil
}

// SetPublishAuth installs who may publish: fn(name, token) for WHIP POST,
// PATCH and DELETE; play then needs webrtc.viewer_token when it is set.
// Without it (or SetAuthorizer) every WHIP request is refused. Call before
// Mount.
func (s *Server) SetPublishAuth(fn func(name, token string) bool) {
	s.publishAuth = tokenAuth{publish: fn, viewerToken: s.cfg.ViewerToken}
}

// authz returns the authorizer in force.
func (s *Server) authz() authorizer {
	if s.publishAuth == nil {
		return tokenAuth{viewerToken: s.cfg.ViewerToken}
	}
	return s.publishAuth
}

// tokenAuth is the authorizer of static tokens alone: a publish function
// and the viewer token.
type tokenAuth struct {
	publish     func(name, token string) bool
	viewerToken string
}

// Authorize checks r's token.
func (t tokenAuth) Authorize(_ context.Context, r auth.Request) (auth.Grant, error) {
	if r.Action == auth.Play && t.viewerToken == "" {
		return auth.Grant{}, nil
	}
	if r.Token == "" {
		return auth.Grant{}, auth.ErrNoToken
	}
	switch {
	case r.Action == auth.Play && tokenEqual(t.viewerToken, r.Token):
		return auth.Grant{Identity: "viewer_token"}, nil
	case r.Action == auth.Publish && t.publish != nil && t.publish(r.Stream, r.Token):
		return auth.Grant{Identity: "publish_token"}, nil
	}
	return auth.Grant{}, auth.ErrBadToken
}

// Acquire counts nothing: tokenAuth has no stream cap.
func (tokenAuth) Acquire(auth.Grant, string) (func(), error) { return func() {}, nil }
