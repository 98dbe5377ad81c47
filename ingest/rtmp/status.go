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
	codeUnpublishSuccess    = "NetStream.Unpublish.Success"
	codeConnectClosed       = "NetConnection.Connect.Closed"
)

// shutdownText is the description of the status messages sent on Drain.
const shutdownText = "server shutting down"

// lingerTime is how long a refused peer is given to read its status before
// the connection is closed.
const lingerTime = time.Second

// Message stream ids the status messages go on: the one stream the library
// creates for a publisher (it writes ids in this byte order), and the
// connection itself.
const (
	publishStreamID    = 0x1000000
	connectionStreamID = 0
)

// sendError tells the peer why its play or publish command is refused, with
// an onStatus error on the stream the library created.
func sendError(sc *gortmplib.ServerConn, code, description string) error {
	return sendStatus(sc, publishStreamID, "error", code, description)
}

// sendStatus writes an onStatus command with level, code and description.
func sendStatus(sc *gortmplib.ServerConn, streamID uint32, level, code, description string) error {
	return sc.Write(&message.CommandAMF0{
		ChunkStreamID:   5,
		MessageStreamID: streamID,
		Name:            "onStatus",
		CommandID:       0,
		Arguments: []any{
			nil,
			amf0.Object{
				{Key: "level", Value: level},
				{Key: "code", Value: code},
				{Key: "description", Value: description},
			},
		},
	})
}

// goodbye tells an accepted publisher that the server is shutting down: its
// stream is unpublished (NetStream.Unpublish.Success), and the connection
// closes (NetConnection.Connect.Closed, level error, so encoders stop and
// say why rather than fail on a dead socket), then lingers so both arrive.
func (s *session) goodbye(sc *gortmplib.ServerConn) {
	_ = s.nc.SetWriteDeadline(time.Now().Add(lingerTime))
	if sendStatus(sc, publishStreamID, "status", codeUnpublishSuccess, shutdownText) != nil ||
		sendStatus(sc, connectionStreamID, "error", codeConnectClosed, shutdownText) != nil {
		return
	}
	linger(s.nc)
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
