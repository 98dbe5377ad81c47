// Package auth decides who may publish and play: static tokens, JSON Web
// Tokens, an optional webhook, a cap on the streams one token publishes at
// once, and the client address that rate limits key on. WHIP, WHEP, RTMP
// and the HTTP API share it.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Action is what a request wants to do with a stream.
type Action string

// Actions.
const (
	Publish Action = "publish"
	Play    Action = "play"
)

// Request is one question to the Authorizer.
type Request struct {
	// Action is Publish or Play.
	Action Action
	// Stream is the stream name.
	Stream string
	// Token is the bearer token (or the RTMP URL's token), possibly empty.
	Token string
	// Addr is the client address, as the HTTP router resolved it through
	// trusted proxies (or the RTMP socket's).
	Addr string
	// Protocol is "whip", "whep", "rtmp", ….
	Protocol string
}

// Grant is what an allowed request was allowed by.
type Grant struct {
	// Identity names the credential for counting and logs, never the
	// secret: "publish_token", "stream_token:NAME", "viewer_token",
	// "jwt:SUBJECT" (or "jwt#HASH" without a subject) or "" (open play).
	Identity string
}

// Sentinel errors; a refusal wraps one of them with its reason.
var (
	// ErrNoToken means the request carries no token and needs one.
	ErrNoToken = errors.New("missing bearer token")
	// ErrBadToken means the token does not grant this action on this stream.
	ErrBadToken = errors.New("wrong bearer token for this stream")
	// ErrWebhookDenied means the webhook answered with a non-2xx status.
	ErrWebhookDenied = errors.New("denied by the authorization webhook")
	// ErrWebhookFailed means the webhook could not be asked (timeout,
	// network, redirect): the request is denied.
	ErrWebhookFailed = errors.New("authorization webhook unavailable")
	// ErrTooManyStreams means the token publishes max_streams_per_token
	// streams already.
	ErrTooManyStreams = errors.New("this token publishes too many streams")
)

// IdentityCluster is the Grant identity of a request that carries the
// cluster token (Options.ClusterToken): another node of the cluster.
const IdentityCluster = "cluster_token"

// Options are the Authorizer's runtime dependencies.
type Options struct {
	// ViewerToken is the static token that may play (webrtc.viewer_token);
	// setting it makes play need a token.
	ViewerToken string
	// ClusterToken, when set, may play every stream too: the token other
	// nodes of a cluster pull with (cluster.token).
	ClusterToken string
	// Log receives decisions (never tokens); nil is slog.Default().
	Log *slog.Logger
	// Client makes webhook calls; nil is a client that follows no redirect.
	Client *http.Client
	// Now is the clock for JWT expiry and the webhook cache; nil is time.Now.
	Now func() time.Time
}

// Authorizer answers Requests. It is safe for concurrent use.
type Authorizer struct {
	cfg         Config
	viewerToken string
	cluster     string
	playOpen    bool
	jwt         *jwtVerifier
	hook        *webhook
	log         *slog.Logger
	now         func() time.Time

	mu   sync.Mutex
	live map[string]map[string]int // identity -> stream -> publishes
}

// New builds an Authorizer from the auth section and loads its JWT keys.
func New(cfg Config, opt Options) (*Authorizer, error) {
	if cfg.Play == "" {
		cfg.Play = PlayOpen
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	a := &Authorizer{
		cfg:         cfg,
		viewerToken: opt.ViewerToken,
		cluster:     opt.ClusterToken,
		playOpen:    cfg.Play == PlayOpen && opt.ViewerToken == "",
		log:         opt.Log.With("component", "auth"),
		now:         opt.Now,
		live:        map[string]map[string]int{},
	}
	if !a.playOpen && opt.ViewerToken == "" && len(cfg.JWT.Keys) == 0 {
		return nil, errors.New("auth.play: token needs webrtc.viewer_token or auth.jwt.keys, or nobody could watch")
	}
	var err error
	if a.jwt, err = newJWTVerifier(cfg.JWT, opt.Now); err != nil {
		return nil, err
	}
	if cfg.WebhookURL != "" {
		a.hook = newWebhook(cfg, opt.Client, opt.Now, a.log)
	}
	return a, nil
}

// PlayOpen reports whether anyone may play without a token.
func (a *Authorizer) PlayOpen() bool { return a.playOpen }

// Check reports whether r is allowed: nil, or an error wrapping one of
// the sentinel errors with the reason.
func (a *Authorizer) Check(ctx context.Context, r Request) error {
	_, err := a.Authorize(ctx, r)
	return err
}

// Authorize is Check that also says which credential allowed r.
func (a *Authorizer) Authorize(ctx context.Context, r Request) (Grant, error) {
	g, err := a.credential(r)
	if err == nil && a.hook != nil {
		err = a.hook.ask(ctx, r, g)
	}
	a.count(r, err)
	if err != nil {
		a.log.Info("refused", "action", r.Action, "stream", r.Stream, "protocol", r.Protocol, "addr", r.Addr, "identity", g.Identity, "reason", err.Error())
		return Grant{}, err
	}
	return g, nil
}

// credential checks the token alone.
func (a *Authorizer) credential(r Request) (Grant, error) {
	switch r.Action {
	case Publish:
		if r.Token == "" {
			return Grant{}, ErrNoToken
		}
		if s, ok := a.cfg.Streams[r.Stream]; ok {
			// A stream with a token of its own takes that token only.
			if Equal(s.Token, r.Token) {
				return Grant{Identity: "stream_token:" + r.Stream}, nil
			}
			return Grant{}, ErrBadToken
		}
		if Equal(a.cfg.PublishToken, r.Token) {
			return Grant{Identity: "publish_token"}, nil
		}
	case Play:
		// The cluster token is told apart even where anyone may play: a
		// viewer with it is another node, which may speak for its viewers.
		if a.cluster != "" && r.Token != "" && Equal(a.cluster, r.Token) {
			return Grant{Identity: IdentityCluster}, nil
		}
		if a.playOpen {
			return Grant{}, nil
		}
		if r.Token == "" {
			return Grant{}, ErrNoToken
		}
		if Equal(a.viewerToken, r.Token) {
			return Grant{Identity: "viewer_token"}, nil
		}
	default:
		return Grant{}, fmt.Errorf("%w: unknown action %q", ErrBadToken, r.Action)
	}
	if len(a.jwt.keys) == 0 || !looksLikeJWT(r.Token) {
		return Grant{}, ErrBadToken
	}
	claims, err := a.jwt.verify(r.Token)
	if err != nil {
		return Grant{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	if !claims.grants(r.Action, r.Stream) {
		return Grant{}, fmt.Errorf("%w: token does not grant %s on %q", ErrBadToken, r.Action, r.Stream)
	}
	if claims.Subject != "" {
		return Grant{Identity: "jwt:" + claims.Subject}, nil
	}
	sum := sha256.Sum256([]byte(r.Token))
	return Grant{Identity: "jwt#" + hex.EncodeToString(sum[:8])}, nil
}

// AllowPublish is Check for a publish over RTMP in the shape the RTMP
// server takes: func(name, token string) bool. The webhook, if any, is
// asked without the client address.
func (a *Authorizer) AllowPublish(name, token string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.WebhookTimeout)
	defer cancel()
	return a.Check(ctx, Request{Action: Publish, Stream: name, Token: token, Protocol: "rtmp"}) == nil
}

// StartPublish authorizes a publish and counts it against its
// credential's stream cap, for an ingest that has the client address and
// can end the count (RTMP: call it where the publish command arrives and
// release when the connection ends). release is nil when err is not.
func (a *Authorizer) StartPublish(ctx context.Context, r Request) (release func(), err error) {
	r.Action = Publish
	g, err := a.Authorize(ctx, r)
	if err != nil {
		return nil, err
	}
	return a.Acquire(g, r.Stream)
}

// Acquire counts one more live publish of stream by g's identity, and
// refuses it when that identity already publishes max_streams_per_token
// other streams. A publish of a stream it holds already (a reconnect)
// always passes. Call release, once, when the publish ends.
func (a *Authorizer) Acquire(g Grant, stream string) (release func(), err error) {
	if a.cfg.MaxStreamsPerToken <= 0 || g.Identity == "" {
		return func() {}, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	held := a.live[g.Identity]
	if held[stream] == 0 && len(held) >= a.cfg.MaxStreamsPerToken {
		publishDecisions.WithLabelValues("too_many_streams").Inc()
		return nil, fmt.Errorf("%w: it publishes %d streams already (auth.max_streams_per_token)", ErrTooManyStreams, len(held))
	}
	if held == nil {
		held = map[string]int{}
		a.live[g.Identity] = held
	}
	held[stream]++
	var once sync.Once
	return func() { once.Do(func() { a.release(g.Identity, stream) }) }, nil
}

func (a *Authorizer) release(identity, stream string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	held := a.live[identity]
	if held[stream]--; held[stream] <= 0 {
		delete(held, stream)
	}
	if len(held) == 0 {
		delete(a.live, identity)
	}
}

// LiveStreams returns how many streams identity publishes now.
func (a *Authorizer) LiveStreams(identity string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.live[identity])
}

// Admin reports whether token is the admin token, in constant time.
func (a *Authorizer) Admin(token string) bool { return a.cfg.Admin(token) }

func (a *Authorizer) count(r Request, err error) {
	result := "allow"
	switch {
	case err == nil:
	case errors.Is(err, ErrNoToken):
		result = "no_token"
	case errors.Is(err, ErrWebhookDenied):
		result = "webhook_denied"
	case errors.Is(err, ErrWebhookFailed):
		result = "webhook_failed"
	default:
		result = "bad_token"
	}
	if r.Action == Play {
		playDecisions.WithLabelValues(result).Inc()
	} else {
		publishDecisions.WithLabelValues(result).Inc()
	}
}
