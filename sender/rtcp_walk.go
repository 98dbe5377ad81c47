package sender

// A direct viewer's compound RTCP (RFC 3550 section 6.1) walked from its
// bytes: transport-wide feedback into the link meter (rtcp_feedback.go),
// receiver reports for the RTT and NACKs answered, none of it parsed into
// pion's packet types, which allocate. The rarer packets (PLI, FIR, REMB,
// SR, BYE...) are still parsed by pion, one each, for the hooks; source
// descriptions, which nobody reads, are only framed.

import (
	"encoding/binary"
	"time"

	"github.com/pion/rtcp"

	"github.com/mutstream/mutstream/metrics"
)

// What the byte walk does with each packet of a compound one.
type rtcpKind uint8

const (
	kindOther    rtcpKind = iota // parsed by pion, handed to the meter's onRTCP
	kindFeedback                 // transport-wide feedback (RTPFB, FMT 15)
	kindNack                     // generic NACK (RTPFB, FMT 1; RFC 4585 6.2.1)
	kindReport                   // receiver report (RFC 3550 6.4.2)
	kindSDES                     // source description: nobody reads it
)

// Sizes in the packets walked (RFC 3550 6.4, RFC 4585 6.1).
const (
	rtcpHeader   = 4
	reportBlocks = 8  // a receiver report's first block
	reportBlock  = 24 // one reception report block
	nackPairs    = 12 // a NACK's first PID and BLP
)

// kindOf says what the walk does with pkt, a whole RTCP packet.
func kindOf(pkt []byte) rtcpKind {
	switch rtcp.PacketType(pkt[1]) {
	case rtcp.TypeReceiverReport:
		return kindReport
	case rtcp.TypeSourceDescription:
		return kindSDES
	case rtcp.TypeTransportSpecificFeedback:
		switch pkt[0] & 0x1f {
		case rtcp.FormatTCC:
			return kindFeedback
		case rtcp.FormatTLN:
			return kindNack
		}
	}
	return kindOther
}

// nextRTCP splits the first packet, with its padding, off compound b;
// false when b does not begin with a whole RTCP packet.
func nextRTCP(b []byte) (pkt, rest []byte, ok bool) {
	if len(b) < rtcpHeader || b[0]>>6 != 2 {
		return nil, nil, false
	}
	n := (int(binary.BigEndian.Uint16(b[2:])) + 1) * 4
	if n > len(b) {
		return nil, nil, false
	}
	return b[:n], b[n:], true
}

// checkRTCP says whether compound b is made of whole packets, each one
// what its type says, as pion would parse it; it returns the packets the
// walk leaves to pion, parsed (nil when, as nearly always, there are
// none). Nothing is taken from a compound packet that fails: the check
// comes before any of it is.
func checkRTCP(b []byte) (others []rtcp.Packet, ok bool) {
	if len(b) == 0 {
		return nil, false
	}
	for len(b) > 0 {
		pkt, rest, ok := nextRTCP(b)
		if !ok {
			return nil, false
		}
		b = rest
		switch kindOf(pkt) {
		case kindFeedback:
			if _, ok := feedbackLayout(pkt); !ok {
				return nil, false
			}
		case kindNack:
			if len(pkt) < nackPairs+4 {
				return nil, false
			}
		case kindReport:
			if len(pkt) < reportBlocks+reportBlock*int(pkt[0]&0x1f) {
				return nil, false
			}
		case kindOther:
			ps, err := rtcp.Unmarshal(pkt)
			if err != nil || len(ps) != 1 {
				return nil, false
			}
			others = append(others, ps[0])
		}
	}
	return others, true
}

// receptionReport reads the reception report block at b.
func receptionReport(b []byte) rtcp.ReceptionReport {
	return rtcp.ReceptionReport{
		SSRC:               binary.BigEndian.Uint32(b),
		FractionLost:       b[4],
		TotalLost:          uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7]),
		LastSequenceNumber: binary.BigEndian.Uint32(b[8:]),
		Jitter:             binary.BigEndian.Uint32(b[12:]),
		LastSenderReport:   binary.BigEndian.Uint32(b[16:]),
		Delay:              binary.BigEndian.Uint32(b[20:]),
	}
}

// nackPair reads the NACK pair (PID and BLP) at b.
func nackPair(b []byte) rtcp.NackPair {
	return rtcp.NackPair{PacketID: binary.BigEndian.Uint16(b), LostPackets: rtcp.PacketBitmap(binary.BigEndian.Uint16(b[2:]))}
}

// reportTaker takes a viewer's reception reports and NACK pairs one by
// one, from either walk.
type reportTaker interface {
	report(rep rtcp.ReceptionReport, now time.Time)
	nack(pair rtcp.NackPair)
}

// splitReports hands the reception reports of p, a receiver report, or
// the pairs of p, a NACK, to t one by one; false when p is neither.
func splitReports(p rtcp.Packet, t reportTaker, now time.Time) bool {
	switch p := p.(type) {
	case *rtcp.ReceiverReport:
		for _, rep := range p.Reports {
			t.report(rep, now)
		}
	case *rtcp.TransportLayerNack:
		for _, pair := range p.Nacks {
			t.nack(pair)
		}
	default:
		return false
	}
	return true
}

// observeBytes takes compound b, checked (checkRTCP, which parsed others),
// as observe takes it parsed.
func (m *linkMeter) observeBytes(b []byte, others []rtcp.Packet, now time.Time) {
	for pkt, rest, ok := nextRTCP(b); ok; pkt, rest, ok = nextRTCP(rest) {
		switch kindOf(pkt) {
		case kindFeedback:
			m.feedbackBytes(pkt)
		case kindReport:
			for i := range int(pkt[0] & 0x1f) {
				m.report(receptionReport(pkt[reportBlocks+reportBlock*i:]), now)
			}
		case kindNack:
			for i := nackPairs; i+4 <= len(pkt); i += 4 {
				m.nack(nackPair(pkt[i:]))
			}
		case kindOther:
			if len(others) > 0 && m.onRTCP != nil {
				m.onRTCP(others[0], now)
			}
			others = others[min(1, len(others)):]
		}
	}
}

// onRTCPBytes takes one compound RTCP packet from the viewer, unparsed, as
// onRTCP takes it parsed; false, counted and with nothing taken, when it
// is not RTCP that parses.
func (s *sendPath) onRTCPBytes(b []byte, now time.Time) bool {
	others, ok := checkRTCP(b)
	if !ok {
		metrics.ViewerRTCPRejected.WithLabelValues("parse").Inc()
		return false
	}
	s.meter.observeBytes(b, others, now)
	for pkt, rest, ok := nextRTCP(b); ok; pkt, rest, ok = nextRTCP(rest) {
		switch kindOf(pkt) {
		case kindReport:
			for i := range int(pkt[0] & 0x1f) {
				s.onReport(receptionReport(pkt[reportBlocks+reportBlock*i:]), now)
			}
		case kindNack:
			st := s.stream(binary.BigEndian.Uint32(pkt[8:]))
			for i := nackPairs; st != nil && i+4 <= len(pkt); i += 4 {
				s.resendPair(st, nackPair(pkt[i:]), now)
			}
		}
	}
	return true
}
