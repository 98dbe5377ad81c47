package sender

import (
	"encoding/binary"

	"github.com/pion/rtp"
)

// rtpSealer encrypts the RTP packets of one sender with an AEAD profile
// (RFC 7714 section 7), and with cryptex (RFC 9335) when the peer asked
// for it. It is not safe for concurrent use: directOut holds its lock.
//
// Sealing is in two steps, so that the one that writes the packet where
// it is sent cannot fail: prepare checks and marshals the header and
// takes the packet's index; seal writes the packet and encrypts it in
// place. Each packet prepared keeps its own header and nonce, so that
// the packets of an access unit can all be prepared, then room taken
// for them at once, then sealed.
type rtpSealer struct {
	gcmSession
	cryptex bool
	srcs    []rocState // one per SSRC sent, a few
}

// sealedRTP is a packet that prepare made ready for seal. Kept and
// prepared again, it allocates nothing; it lives on the heap (its iv
// goes to cipher.AEAD, an interface, and escapes).
type sealedRTP struct {
	head    []byte // the header as sealed (for cryptex, the extension header moved before the CSRCs), in hb
	hb      []byte // head's storage
	iv      [gcmIVLen]byte
	aad     int // leading bytes of head authenticated in the clear
	csrcs   int // bytes of CSRCs that seal moves back in front of the extension header
	payload []byte
	pad     int  // padding bytes after payload
	count   bool // the last padding byte says how many there are
	size    int  // the packet sealed, tag included
}

// rocState is the highest packet index sent on one SSRC (RFC 3711
// section 3.3.1): its rollover count and sequence number.
type rocState struct {
	ssrc    uint32
	index   uint64 // ROC<<16 | SEQ
	started bool
}

const (
	rtpFixedHeader = 12
	extHeaderLen   = 4
	seqHalf        = 1 << 15
	seqRange       = 1 << 16
)

func newRTPSealer(masterKey, masterSalt []byte, cryptex bool) (*rtpSealer, error) {
	s, err := newGCMSession(masterKey, masterSalt, labelRTPKey, labelRTPSalt)
	if err != nil {
		return nil, err
	}
	return &rtpSealer{gcmSession: s, cryptex: cryptex}, nil
}

// prepare makes h and payload ready to seal into p. It fails, and then
// nothing is counted as sent, for a header that does not marshal, an
// extension profile cryptex cannot take, or an SSRC whose 2^48 indexes
// are spent.
func (s *rtpSealer) prepare(p *sealedRTP, h *rtp.Header, payload []byte) error {
	ext := h.Extension
	if s.cryptex && ext && h.ExtensionProfile != rtp.ExtensionProfileOneByte && h.ExtensionProfile != rtp.ExtensionProfileTwoByte {
		return errSRTPCryptexExt
	}
	csrcEnd := rtpFixedHeader + 4*len(h.CSRC)
	// RFC 9335 section 5.1: CSRCs and no extension get an empty
	// extension block, which cryptex then covers.
	empty := s.cryptex && !ext && len(h.CSRC) > 0
	n := h.MarshalSize()
	hl := n
	if empty {
		hl += extHeaderLen
	}
	if cap(p.hb) < hl {
		p.hb = make([]byte, max(hl, 128))
	}
	head := p.hb[:hl]
	if _, err := h.MarshalTo(head); err != nil {
		return err
	}
	p.aad, p.csrcs = hl, 0
	if empty {
		head[0] |= 0x10 // X
		binary.BigEndian.PutUint16(head[n:], rtp.ExtensionProfileOneByte)
		binary.BigEndian.PutUint16(head[n+2:], 0)
	}
	if s.cryptex && (ext || empty) {
		// RFC 9335 section 6.2: the extension header is authenticated in
		// the clear with its profile changed, the CSRCs and the extension
		// encrypted with the payload. They are encrypted as if the
		// extension header came first (as pion and libsrtp do); seal puts
		// it back after them.
		profile := uint16(rtp.CryptexProfileOneByte)
		if ext && h.ExtensionProfile == rtp.ExtensionProfileTwoByte {
			profile = rtp.CryptexProfileTwoByte
		}
		var eh [extHeaderLen]byte
		copy(eh[:], head[csrcEnd:])
		binary.BigEndian.PutUint16(eh[:], profile)
		copy(head[rtpFixedHeader+extHeaderLen:], head[rtpFixedHeader:csrcEnd])
		copy(head[rtpFixedHeader:], eh[:])
		p.aad, p.csrcs = rtpFixedHeader+extHeaderLen, csrcEnd-rtpFixedHeader
	}
	roc, err := s.index(h.SSRC, h.SequenceNumber)
	if err != nil {
		return err
	}
	s.rtpIV(&p.iv, h.SSRC, roc, h.SequenceNumber)
	p.head, p.payload = head, payload
	p.pad, p.count = int(h.PaddingSize), h.Padding && h.PaddingSize > 0
	p.size = hl + len(payload) + p.pad + gcmTagLen
	return nil
}

// seal writes p, a packet prepared, into dst (p.size bytes) and
// encrypts it in place.
func (s *rtpSealer) seal(dst []byte, p *sealedRTP) {
	n := copy(dst, p.head)
	n += copy(dst[n:], p.payload)
	end := n + p.pad
	clear(dst[n:end])
	if p.count {
		dst[end-1] = byte(p.pad)
	}
	s.aead.Seal(dst[p.aad:p.aad], p.iv[:], dst[p.aad:end], dst[:p.aad])
	if p.csrcs > 0 {
		var eh [extHeaderLen]byte
		copy(eh[:], dst[rtpFixedHeader:])
		copy(dst[rtpFixedHeader:], dst[rtpFixedHeader+extHeaderLen:rtpFixedHeader+extHeaderLen+p.csrcs])
		copy(dst[rtpFixedHeader+p.csrcs:], eh[:])
	}
}

// index returns the ROC of packet seq on ssrc and counts the packet as
// sent.
func (s *rtpSealer) index(ssrc uint32, seq uint16) (uint32, error) {
	var st *rocState
	for i := range s.srcs {
		if s.srcs[i].ssrc == ssrc {
			st = &s.srcs[i]
			break
		}
	}
	if st == nil {
		s.srcs = append(s.srcs, rocState{ssrc: ssrc})
		st = &s.srcs[len(s.srcs)-1]
	}
	return st.next(seq)
}

// next returns the ROC of packet seq and moves the highest index on when
// seq is past it. The ROC is the one that puts the packet's index
// nearest the highest sent (RFC 3711 section 3.3.1, appendix A), so that
// a packet sent again with an older number (a resend after a NACK) takes
// the index of its first sending, even across a wrap of the numbers.
func (st *rocState) next(seq uint16) (uint32, error) {
	if !st.started {
		st.index, st.started = uint64(seq), true
		return 0, nil
	}
	roc := uint32(st.index >> 16)
	last := int64(st.index & (seqRange - 1))
	d := int64(seq) - last
	switch {
	case st.index <= seqHalf:
		// Still in the first half of the first cycle: nothing before it.
	case last < seqHalf && d > seqHalf:
		roc, d = roc-1, d-seqRange // from the cycle before
	case last >= seqHalf && -d > seqHalf:
		if roc == 1<<32-1 {
			return 0, errSRTPExhausted
		}
		roc, d = roc+1, d+seqRange // the numbers wrapped
	}
	if d > 0 {
		st.index += uint64(d)
	}
	return roc, nil
}
