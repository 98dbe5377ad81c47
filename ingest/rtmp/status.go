package rtmp

import (
	"io"
	"net"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/message"
)

// NetStream status codes sent to a refused peer.
const (
	codePlayFailed          = "NetStream.Play.Failed"
	codePublishBadName      = "NetStream.Publish.BadName"
	codePublishUnauthorized = "NetStream.Publish.Unauthorized"
	codePublishFailed       = "NetStream.Publish.Failed"
)

// lingerTime is how long a refused peer is given to read its status before
// the connection is closed.
const lingerTime = time.Second

// sendError tells the peer why its play or publish command is refused, with
// an onStatus error on the stream the library created (message stream 1).
func sendError(sc *gortmplib.ServerConn, code, description string) error {
	return sc.Write(&message.CommandAMF0{
		ChunkStreamID:   5,
		MessageStreamID: 0x1000000,
		Name:            "onStatus",
		CommandID:       0,
		Arguments: []any{
			nil,
			amf0.Object{
				{Key: "level", Value: "error"},
				{Key: "code", Value: code},
				{Key: "description", Value: description},
			},
		},
	})
}

// linger half-closes nc and discards what the peer still sends for a short
// while, so the status written last reaches it rather than being lost to a
// reset. Closing nc (Server.Close, a kick) ends it early.
func linger(nc net.Conn) {
	if tc, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_ = nc.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.Copy(io.Discard, io.LimitReader(nc, 256<<10))
}
