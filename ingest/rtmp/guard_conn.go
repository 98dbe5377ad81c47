package rtmp

import (
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/message"
)

// guardConn sits between the library's Reader and the ServerConn. It gives
// every read a deadline, and refuses the messages the library's H.264 reader
// does not expect (a non-H.264 video message would make it dereference a
// config it never parsed).
type guardConn struct {
	gortmplib.Conn
	setReadDeadline func(time.Time) error // the session's: fails once it drains
	readTimeout     time.Duration
	until           time.Time // zero: no overall deadline
}

var _ gortmplib.Conn = (*guardConn)(nil)

// Read reads one message, within readTimeout and until.
func (g *guardConn) Read() (message.Message, error) {
	dl := time.Now().Add(g.readTimeout)
	if !g.until.IsZero() && g.until.Before(dl) {
		dl = g.until
	}
	if err := g.setReadDeadline(dl); err != nil {
		return nil, err
	}
	msg, err := g.Conn.Read()
	if err != nil {
		return nil, err
	}
	if v, ok := msg.(*message.Video); ok {
		if v.Codec != message.CodecH264 {
			return nil, reject(reasonUnsupportedCodec, "%w: video codec id %d; send H.264", ErrUnsupportedCodec, v.Codec)
		}
		if v.Type == message.VideoTypeConfig && v.AVCConfig == nil {
			return nil, reject(reasonReadError, "H.264 config message without a configuration record")
		}
	}
	return msg, nil
}
