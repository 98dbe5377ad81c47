package transcode

import (
	"time"

	"github.com/mutstream/mutstream/stream"
)

// handleAudio decodes and re-encodes one audio packet, or passes Opus
// through unchanged.
func (p *Pipeline) handleAudio(pkt *stream.Packet) {
	if !p.hasAudio || p.audioFeed == nil {
		return // no audio, or no ladder yet
	}
	if p.audioTrack.Codec == stream.CodecOpus {
		if pkt.Duration <= 0 {
			cp := pkt.Clone()
			cp.Duration = 20 * time.Millisecond
			pkt = cp
		}
		p.audioFeed.Write(pkt)
		return
	}
	if p.audioDec == nil || p.audioEnc == nil {
		return
	}
	if err := p.audioDec.send(pkt); err != nil {
		p.decodeError(stream.KindAudio, err)
		return
	}
	for {
		f, err := p.audioDec.receive()
		if err != nil {
			p.decodeError(stream.KindAudio, err)
			return
		}
		if f == nil {
			return
		}
		if err := p.audioEnc.encode(f, p.audioDec.tb); err != nil {
			if n, ok := p.decErrs.allow(time.Now()); ok {
				p.log.Warn("audio encode error", "err", err, "since_last_log", n)
			}
		}
	}
}
