package sender

import "encoding/binary"

// SRTCP's trailer and its replay window.
const (
	srtcpHeaderLen = 8         // the RTCP header and sender SSRC, in the clear
	srtcpIndexLen  = 4         // the E flag and the SRTCP index, after the tag
	srtcpEFlag     = 1 << 31   // E: the packet is encrypted
	srtcpIndexMask = 1<<31 - 1 // the 31-bit SRTCP index
	srtcpWindow    = 64        // packets behind the newest still taken once
	srtcpMaxSSRCs  = 16        // senders tracked; a viewer uses one or two
)

// rtcpDecrypter authenticates and decrypts one SRTCP packet into dst,
// grown when too small: rtcpOpener (AEAD profiles) or pionRTCP.
type rtcpDecrypter interface {
	decryptRTCP(dst, pkt []byte) ([]byte, error)
}

// rtcpOpener authenticates and decrypts the SRTCP of one peer with an
// AEAD profile (RFC 7714 section 9), refusing a packet seen before or
// older than the replay window (RFC 3711 section 3.3.2) per sending
// SSRC. It is not safe for concurrent use: directIn holds its lock.
type rtcpOpener struct {
	gcmSession
	wins []replayWindow
	// The nonce and the authenticated data are here, not on the stack:
	// what goes to cipher.AEAD, an interface, escapes.
	iv  [gcmIVLen]byte
	aad [srtcpHeaderLen + srtcpIndexLen]byte
}

// replayWindow is the SRTCP indexes seen from one SSRC: the newest and
// a bit for each of the srtcpWindow up to it.
type replayWindow struct {
	ssrc   uint32
	newest uint32
	seen   uint64 // bit i: newest-i authenticated
}

func newRTCPOpener(masterKey, masterSalt []byte) (*rtcpOpener, error) {
	s, err := newGCMSession(masterKey, masterSalt, labelRTCPKey, labelRTCPSalt)
	if err != nil {
		return nil, err
	}
	return &rtcpOpener{gcmSession: s}, nil
}

// decryptRTCP authenticates pkt and returns the RTCP in it, decrypted
// into dst (grown when too small). A packet that does not authenticate,
// or that was taken before, is an error; nothing of it is kept.
func (o *rtcpOpener) decryptRTCP(dst, pkt []byte) ([]byte, error) {
	if len(pkt) < srtcpHeaderLen+gcmTagLen+srtcpIndexLen {
		return nil, errSRTCPShort
	}
	trailer := len(pkt) - srtcpIndexLen
	word := binary.BigEndian.Uint32(pkt[trailer:])
	index := word & srtcpIndexMask
	ssrc := binary.BigEndian.Uint32(pkt[4:])
	w := o.window(ssrc)
	if w != nil && !w.fresh(index) {
		return nil, errSRTCPReplayed // before the work of authenticating it
	}
	o.rtcpIV(&o.iv, ssrc, index)
	body := trailer - gcmTagLen // the RTCP's length
	if cap(dst) < body+srtcpIndexLen {
		dst = make([]byte, body+srtcpIndexLen)
	}
	if word&srtcpEFlag != 0 {
		// Authenticated: the header, the E flag and index (section 9.3).
		copy(o.aad[:], pkt[:srtcpHeaderLen])
		binary.BigEndian.PutUint32(o.aad[srtcpHeaderLen:], word)
		if _, err := o.aead.Open(dst[srtcpHeaderLen:srtcpHeaderLen], o.iv[:], pkt[srtcpHeaderLen:trailer], o.aad[:]); err != nil {
			return nil, errSRTCPAuth
		}
		copy(dst, pkt[:srtcpHeaderLen])
	} else {
		// Not encrypted: the whole packet and the index word are
		// authenticated (section 9.2), laid end to end in dst.
		copy(dst, pkt[:body])
		binary.BigEndian.PutUint32(dst[body:], word)
		if _, err := o.aead.Open(nil, o.iv[:], pkt[body:trailer], dst[:body+srtcpIndexLen]); err != nil {
			return nil, errSRTCPAuth
		}
	}
	if w == nil {
		if len(o.wins) >= srtcpMaxSSRCs {
			return nil, errSRTCPSSRCs
		}
		o.wins = append(o.wins, replayWindow{ssrc: ssrc})
		w = &o.wins[len(o.wins)-1]
	}
	w.take(index)
	return dst[:body], nil
}

func (o *rtcpOpener) window(ssrc uint32) *replayWindow {
	for i := range o.wins {
		if o.wins[i].ssrc == ssrc {
			return &o.wins[i]
		}
	}
	return nil
}

// fresh says whether index may be taken: newer than the newest, or
// within the window behind it and not seen.
func (w *replayWindow) fresh(index uint32) bool {
	if index > w.newest {
		return true
	}
	d := w.newest - index
	return d < srtcpWindow && w.seen&(1<<d) == 0
}

// take records index as seen.
func (w *replayWindow) take(index uint32) {
	if index > w.newest {
		if d := index - w.newest; d >= srtcpWindow {
			w.seen = 0
		} else {
			w.seen <<= d
		}
		w.newest = index
	}
	w.seen |= 1 << (w.newest - index)
}
