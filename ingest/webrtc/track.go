package webrtc

import (
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// readBufferSize holds any RTP packet pion hands out.
const readBufferSize = 1600

// maxReadErrors ends a track whose reads fail this many times in a row
// for reasons other than its end (unknown payload types, garbage).
const maxReadErrors = 1000

// trackState is one accepted incoming track. The readers use only remote
// and receiver; everything else belongs to the loop.
type trackState struct {
	kind     stream.Kind
	codec    stream.Codec
	ssrc     uint32
	remote   *pion.TrackRemote
	receiver *pion.RTPReceiver

	jb    *jitterBuffer
	asm   *assembler // video
	h264  *h264Frame // H.264 video: holds the parameter sets
	clock trackClock
	err   error // why its reader ended
}

// rtpIn is one packet read from a track.
type rtpIn struct {
	t   *trackState
	pkt *rtp.Packet
	at  time.Time
}

// senderReport is an RTCP SR read from a track's receiver.
type senderReport struct {
	t   *trackState
	ntp uint64
	rtp uint32
}

// classify maps a negotiated codec to what the Hub knows.
func classify(c pion.RTPCodecParameters) (stream.Kind, stream.Codec, int64, bool) {
	switch strings.ToLower(c.MimeType) {
	case strings.ToLower(pion.MimeTypeH264):
		return stream.KindVideo, stream.CodecH264, 90000, true
	case strings.ToLower(pion.MimeTypeVP8):
		return stream.KindVideo, stream.CodecVP8, 90000, true
	case strings.ToLower(pion.MimeTypeOpus):
		return stream.KindAudio, stream.CodecOpus, 48000, true
	}
	return 0, "", 0, false
}

// onTrack is pion's OnTrack handler: it accepts the first video and the
// first audio track and starts their readers.
func (p *Publisher) onTrack(remote *pion.TrackRemote, receiver *pion.RTPReceiver) {
	kind, codec, rate, ok := classify(remote.Codec())
	if !ok {
		p.log.Warn("track ignored", "err", ErrUnsupportedCodec, "mime", remote.Codec().MimeType)
		metrics.WHIPFramesDropped.WithLabelValues("unsupported_track").Inc()
		return
	}
	t := p.newTrackState(kind, codec, rate, uint32(remote.SSRC()), remote.Codec().SDPFmtpLine)
	t.remote, t.receiver = remote, receiver
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	for _, o := range p.tracks {
		if o.kind == kind {
			p.mu.Unlock()
			p.log.Warn("extra track ignored", "kind", kind.String(), "codec", string(codec))
			metrics.WHIPFramesDropped.WithLabelValues("extra_track").Inc()
			return
		}
	}
	p.tracks = append(p.tracks, t)
	p.readers.Add(2)
	p.mu.Unlock()
	// The loop learns of the track before any of its packets: through the
	// same queue. Should it be stopping, the readers find their deadline
	// passed and return.
	p.queueArrival(t)
	go p.readRTP(t)
	go p.readRTCP(t)
}

// newTrackState makes the loop's state for a track; an H.264 track starts
// with the parameter sets of fmtp's sprop-parameter-sets, if any, for a
// first IDR that comes without them.
func (p *Publisher) newTrackState(kind stream.Kind, codec stream.Codec, rate int64, ssrc uint32, fmtp string) *trackState {
	t := &trackState{
		kind: kind, codec: codec, ssrc: ssrc,
		jb:    newJitterBuffer(p.cfg.JitterLatency),
		clock: trackClock{rate: rate},
	}
	if kind == stream.KindVideo {
		if codec == stream.CodecH264 {
			t.h264 = &h264Frame{}
			t.h264.sps, t.h264.pps = spropParameterSets(fmtp)
			t.asm = newAssembler(t.h264)
		} else {
			t.asm = newAssembler(&vp8Frame{})
		}
	}
	return t
}

// queueArrival tells the loop of a new track, ahead of its packets.
func (p *Publisher) queueArrival(t *trackState) {
	select {
	case p.in <- rtpIn{t: t}:
	case <-p.stopping:
	}
}

// readRTP reads the track's packets into the loop until the track ends or
// the Publisher stops.
func (p *Publisher) readRTP(t *trackState) {
	defer p.readers.Done()
	failures := 0
	for {
		buf := make([]byte, readBufferSize)
		n, _, err := t.remote.Read(buf)
		if err != nil {
			if isEnd(err) || p.isStopping() {
				t.err = err
				break
			}
			metrics.WHIPPacketsDropped.WithLabelValues("unreadable").Inc()
			if failures++; failures >= maxReadErrors {
				t.err = err
				break
			}
			continue
		}
		failures = 0
		pkt := &rtp.Packet{}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			metrics.WHIPPacketsDropped.WithLabelValues("malformed").Inc()
			continue
		}
		select {
		case p.in <- rtpIn{t: t, pkt: pkt, at: time.Now()}:
		case <-p.stopping:
			return
		}
	}
	select {
	case p.ended <- t:
	case <-p.stopping:
	}
}

// readRTCP drains the track's RTCP (pion needs it read) and passes sender
// reports to the loop, for lip sync.
func (p *Publisher) readRTCP(t *trackState) {
	defer p.readers.Done()
	failures := 0
	for {
		pkts, _, err := t.receiver.ReadRTCP()
		if err != nil {
			if failures++; isEnd(err) || p.isStopping() || failures >= maxReadErrors {
				return
			}
			continue
		}
		failures = 0
		for _, pk := range pkts {
			sr, ok := pk.(*rtcp.SenderReport)
			if !ok || sr.SSRC != t.ssrc {
				continue
			}
			select {
			case p.srs <- senderReport{t: t, ntp: sr.NTPTime, rtp: sr.RTPTime}:
			case <-p.stopping:
				return
			default: // the loop is busy; the next report will do
			}
		}
	}
}

func (p *Publisher) isStopping() bool {
	select {
	case <-p.stopping:
		return true
	default:
		return false
	}
}

// isEnd reports whether a read error means the track is over (closed, or
// the deadline the Publisher set to stop it).
func isEnd(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, net.ErrClosed) || (errors.As(err, &ne) && ne.Timeout())
}
