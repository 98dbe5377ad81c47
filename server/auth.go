package server

import (
	"context"
	"net"
	"net/http"

	"github.com/mutstream/mutstream/auth"
	"github.com/mutstream/mutstream/ingest/rtmp"
	"github.com/mutstream/mutstream/web"
)

// playAuth is the API's play check from the authorizer WHEP uses: the
// viewer token or a JWT that grants play on the stream (on the list
// endpoints, stream is "": a JWT then needs a pattern that matches every
// name, such as "*"). Nil when anyone may play.
func playAuth(az *auth.Authorizer) func(r *http.Request, stream string) error {
	if az.PlayOpen() {
		return nil
	}
	return func(r *http.Request, stream string) error {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		return az.Check(r.Context(), auth.Request{Action: auth.Play, Stream: stream, Token: web.BearerToken(r), Addr: host, Protocol: "http"})
	}
}

// rtmpStart checks an RTMP publish with the authorizer and counts it
// against its token's stream cap until the connection ends.
func rtmpStart(az *auth.Authorizer) rtmp.StartPublish {
	return func(ctx context.Context, name, token, addr string) (func(), error) {
		return az.StartPublish(ctx, auth.Request{Stream: name, Token: token, Addr: addr, Protocol: "rtmp"})
	}
}
