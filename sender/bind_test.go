package sender

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// sinkWriter counts what a bound track writes, as a PeerConnection's
// writer would take it.
type sinkWriter struct{ packets int }

func (w *sinkWriter) WriteRTP(_ *rtp.Header, payload []byte) (int, error) {
	w.packets++
	return len(payload), nil
}

func (w *sinkWriter) Write(b []byte) (int, error) {
	w.packets++
	return len(b), nil
}

// sinkContext binds a track to a sinkWriter with the track's own codec.
type sinkContext struct {
	codec webrtc.RTPCodecParameters
	w     *sinkWriter
}

func (c sinkContext) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{c.codec}
}
func (sinkContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (sinkContext) SSRC() webrtc.SSRC                                      { return 1 }
func (sinkContext) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (sinkContext) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (c sinkContext) WriteStream() webrtc.TrackLocalWriter                 { return c.w }
func (sinkContext) ID() string                                             { return "sink" }
func (sinkContext) RTCPReader() interceptor.RTCPReader                     { return nil }

// boundToSink makes a BoundTrack for c, bound to a sink that counts its
// packets.
func boundToSink(t *testing.T, c webrtc.RTPCodecCapability, pt webrtc.PayloadType) (*BoundTrack, *sinkWriter) {
	t.Helper()
	tr, err := NewBoundTrack(c, c.MimeType, "test")
	if err != nil {
		t.Fatal(err)
	}
	w := &sinkWriter{}
	if _, err := tr.Bind(sinkContext{codec: webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: pt}, w: w}); err != nil {
		t.Fatal(err)
	}
	return tr, w
}

// An unbound track sends nothing and counts nothing; bound, every payload
// goes to the binding's writer.
func TestBoundTrackWritesOnlyWhenBound(t *testing.T) {
	c := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}
	tr, err := NewBoundTrack(c, "video", "test")
	if err != nil {
		t.Fatal(err)
	}
	o := newRTPOut(tr, cutH264, 90000, 3000)
	p := keyframe(0)
	if n, err := o.write(p, true); n != 0 || err != nil {
		t.Fatalf("unbound: wrote %d packets, %v", n, err)
	}
	w := &sinkWriter{}
	if _, err := tr.Bind(sinkContext{codec: webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: 102}, w: w}); err != nil {
		t.Fatal(err)
	}
	n, err := o.write(p, true)
	if err != nil || n < 3 || w.packets != n {
		t.Fatalf("bound: wrote %d packets (%d reached the writer), %v", n, w.packets, err)
	}
}
