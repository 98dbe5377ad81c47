package webrtc

import (
	"time"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// Reasons audio is dropped, as counted in WHIPFramesDropped.
const (
	dropAudioBeforeVideo = "audio_before_video" // before the first video keyframe
	dropAudioLate        = "audio_late_track"   // the stream went live without audio
	dropPendingOverflow  = "pending_overflow"   // too much before the stream went live
)

// packetIn puts one packet through its track's jitter buffer.
func (p *Publisher) packetIn(l *loop, in rtpIn) {
	t := in.t
	if t != l.video && t != l.audio {
		metrics.WHIPPacketsDropped.WithLabelValues("unknown_track").Inc()
		return
	}
	t.jb.push(in.pkt, in.at)
	p.drain(l, t, in.at)
}

// drain hands on what t's jitter buffer releases at now.
func (p *Publisher) drain(l *loop, t *trackState, now time.Time) {
	for _, it := range t.jb.pop(now) {
		if it.pkt == nil {
			if t.asm != nil {
				t.asm.loss()
			}
			continue
		}
		t.clock.start(it.pkt.Timestamp, it.at)
		if len(it.pkt.Payload) == 0 {
			continue // padding only
		}
		if t.asm != nil {
			t.asm.packet(it.pkt.Timestamp, it.pkt.Marker, it.pkt.Payload)
			continue
		}
		p.audioOut(l, t, it.pkt.Timestamp, it.pkt.Payload)
	}
	p.countJitter(t)
	if t.asm == nil {
		return
	}
	frames, drops := t.asm.take()
	for _, r := range drops {
		metrics.WHIPFramesDropped.WithLabelValues(r).Inc()
	}
	for _, f := range frames {
		p.videoOut(l, t, f)
	}
	// A keyframe released in the same drain as the loss has already ended
	// the need: asking again would start a wait that nothing ends.
	if r := t.asm.wantKey; r != "" {
		t.asm.wantKey = ""
		if t.asm.needKey {
			p.sendPLI(l, r, now)
			p.lossKeyWait(l, now)
		}
	}
}

func (p *Publisher) countJitter(t *trackState) {
	s := t.jb.takeStats()
	if s.lost > 0 {
		metrics.WHIPPacketsLost.WithLabelValues(p.name).Add(float64(s.lost))
	}
	if s.recovered > 0 {
		metrics.WHIPPacketsRecovered.WithLabelValues(p.name).Add(float64(s.recovered))
	}
	if s.late > 0 {
		metrics.WHIPPacketsDropped.WithLabelValues("late").Add(float64(s.late))
	}
	if s.duplicate > 0 {
		metrics.WHIPPacketsDropped.WithLabelValues("duplicate").Add(float64(s.duplicate))
	}
}

// videoOut stamps a whole frame and hands it on. The first one is a
// keyframe (the assembler drops everything before) and is PTS 0.
func (p *Publisher) videoOut(l *loop, t *trackState, f frame) {
	u := t.clock.unwrap(f.ts)
	if !t.clock.fixed {
		t.clock.offset, t.clock.fixed = -t.clock.rel(u), true
	}
	if f.key {
		l.gotKeyframe = true
		l.plis.cancel()
		p.keyframeIn(l, time.Now())
	}
	pts := t.clock.pts(u)
	// RTP carries H.264 presentation time: with B-frames it steps back in
	// decode order. The decoder reorders; DTS is only a copy.
	p.deliver(l, &stream.Packet{Kind: stream.KindVideo, PTS: pts, DTS: pts, Keyframe: f.key, Data: f.data})
}

// audioOut stamps one Opus packet and hands it on.
func (p *Publisher) audioOut(l *loop, t *trackState, ts uint32, payload []byte) {
	u := t.clock.unwrap(ts)
	if l.audioLate {
		metrics.WHIPFramesDropped.WithLabelValues(dropAudioLate).Inc()
		return
	}
	if l.video == nil || !l.video.clock.fixed {
		metrics.WHIPFramesDropped.WithLabelValues(dropAudioBeforeVideo).Inc()
		return
	}
	if !t.clock.fixed {
		how := t.clock.alignTo(&l.video.clock)
		p.log.Debug("audio aligned", "by", how, "offset", t.clock.offset)
	}
	pts := t.clock.pts(u)
	if pts < 0 {
		metrics.WHIPFramesDropped.WithLabelValues(dropAudioBeforeVideo).Inc()
		return
	}
	p.deliver(l, &stream.Packet{Kind: stream.KindAudio, PTS: pts, DTS: pts, Duration: opusDuration(payload), Keyframe: true, Data: payload})
}

// deliver writes to the publication, or holds the packet until it exists.
func (p *Publisher) deliver(l *loop, pkt *stream.Packet) {
	if l.pub == nil {
		if len(l.pending) >= maxPending {
			l.pending = l.pending[1:]
			metrics.WHIPFramesDropped.WithLabelValues(dropPendingOverflow).Inc()
		}
		l.pending = append(l.pending, pkt)
		return
	}
	p.write(l, pkt)
}

func (p *Publisher) write(l *loop, pkt *stream.Packet) {
	if err := l.pub.WritePacket(pkt); err != nil {
		p.log.Debug("packet not written", "err", err)
	}
}
