package webrtc

import "time"

// ntpEpochOffset is the number of seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

// maxSRSkew bounds the start-time difference between two tracks that
// sender reports may claim; beyond it they are ignored as bogus.
const maxSRSkew = 10 * time.Second

// trackClock maps one track's RTP timestamps onto the stream's timeline:
// unwrapped to 64 bits, relative to the track's first packet, shifted by an
// offset fixed when the track's first packet is handed on.
type trackClock struct {
	rate    int64 // Hz
	started bool
	base    int64     // RTP timestamp of the first packet
	last    int64     // last unwrapped timestamp
	firstAt time.Time // arrival of the first packet

	haveSR bool // a sender report maps RTP time to the sender's wall clock
	srNTP  time.Time
	srRTP  uint32

	fixed  bool
	offset time.Duration
}

// start records the track's first packet; later calls do nothing.
func (c *trackClock) start(ts uint32, at time.Time) {
	if c.started {
		return
	}
	c.started, c.base, c.last, c.firstAt = true, int64(ts), int64(ts), at
}

// unwrap extends ts to 64 bits near the last one; it may step backwards
// (B-frames are stamped with their presentation time).
func (c *trackClock) unwrap(ts uint32) int64 {
	c.last += int64(int32(ts - uint32(c.last)))
	return c.last
}

// rel returns how long after the first packet's timestamp u is.
func (c *trackClock) rel(u int64) time.Duration {
	return ticksToDuration(u-c.base, c.rate)
}

// pts returns u on the stream's timeline; the clock must be fixed.
func (c *trackClock) pts(u int64) time.Duration { return c.rel(u) + c.offset }

// senderReport records a sender report's NTP/RTP pair (RFC 3550 6.4.1).
func (c *trackClock) senderReport(ntp uint64, rtpTS uint32) {
	c.haveSR, c.srNTP, c.srRTP = true, ntpTime(ntp), rtpTS
}

// baseNTP returns the sender's wall-clock time of the first packet's
// timestamp, when a sender report has told it.
func (c *trackClock) baseNTP() (time.Time, bool) {
	if !c.haveSR || !c.started {
		return time.Time{}, false
	}
	d := int64(int32(c.srRTP - uint32(c.base)))
	return c.srNTP.Add(-ticksToDuration(d, c.rate)), true
}

// ticksToDuration converts without overflow for any stream length.
func ticksToDuration(ticks, rate int64) time.Duration {
	if rate <= 0 {
		return 0
	}
	sec, rem := ticks/rate, ticks%rate
	return time.Duration(sec)*time.Second + time.Duration(rem*int64(time.Second)/rate)
}

// ntpTime converts a 64-bit NTP timestamp.
func ntpTime(ntp uint64) time.Time {
	sec := int64(ntp>>32) - ntpEpochOffset
	frac := int64((ntp & 0xffffffff) * uint64(time.Second) >> 32)
	return time.Unix(sec, frac)
}

// alignTo fixes c's offset against the reference clock ref (already fixed):
// by sender reports when both tracks have one, else by when each track's
// first packet arrived. It returns which was used.
func (c *trackClock) alignTo(ref *trackClock) string {
	gap, how := c.firstAt.Sub(ref.firstAt), "arrival"
	if cn, ok := c.baseNTP(); ok {
		if rn, ok := ref.baseNTP(); ok {
			if d := cn.Sub(rn); d > -maxSRSkew && d < maxSRSkew {
				gap, how = d, "sender_report"
			}
		}
	}
	c.offset, c.fixed = gap+ref.offset, true
	return how
}
