package sender

import (
	"time"

	"github.com/pion/rtcp"
)

// Sender reports (RFC 3550 6.4.1) carry the clock a browser lines audio and
// video up by. The send path counts what each stream sends as it numbers
// it, and the viewer's loop sends the reports once a second: pion's report
// interceptor would take a lock and count on every packet, in a layer of
// its own, and run a timer per connection.

// srState is what a stream's next sender report says.
type srState struct {
	packets, octets uint32
	lastTS          uint32    // of the latest packet sent
	lastAt          time.Time // when the first packet with lastTS went
	clock           uint32    // Hz
}

// sent counts a packet with the given timestamp and payload size; st.mu
// is held.
func (sr *srState) sent(ts uint32, payload int) {
	if sr.packets == 0 || ts != sr.lastTS {
		sr.lastTS, sr.lastAt = ts, time.Now()
	}
	sr.packets++
	sr.octets += uint32(payload)
}

// report is the sender report of stream ssrc at now: the RTP time is the
// latest packet's, moved on by the time since it went.
func (sr srState) report(ssrc uint32, now time.Time) *rtcp.SenderReport {
	ts := sr.lastTS + uint32(now.Sub(sr.lastAt).Seconds()*float64(sr.clock))
	return &rtcp.SenderReport{SSRC: ssrc, NTPTime: ntpTime(now), RTPTime: ts, PacketCount: sr.packets, OctetCount: sr.octets}
}

// senderReports returns a report for every stream that has sent a packet.
func (s *sendPath) senderReports(now time.Time) []rtcp.Packet {
	s.mu.Lock()
	streams := make([]*sentStream, 0, len(s.streams))
	for _, st := range s.streams {
		streams = append(streams, st)
	}
	s.mu.Unlock()
	var out []rtcp.Packet
	for _, st := range streams {
		st.mu.Lock()
		sr := st.sr
		st.mu.Unlock()
		if sr.packets > 0 && sr.clock > 0 {
			out = append(out, sr.report(st.ssrc, now))
		}
	}
	return out
}
