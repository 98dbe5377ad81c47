package sender

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
)

// mediad's own SRTP, for the AEAD profiles AEAD_AES_128_GCM and
// AEAD_AES_256_GCM (RFC 7714), which browsers offer first: what a
// viewer that sends directly (direct.go) sends as SRTP and receives as
// SRTCP. Built for its one use, it seals a packet where it is sent from
// (a batch slot, see internal/udpbatch) with no allocation, no header
// parse and no map look-up per packet; pion's srtp.Context stays for
// AES_CM_128_HMAC_SHA1_80.

// Sizes of the AEAD profiles (RFC 7714 sections 12 and 14).
const (
	gcmTagLen  = 16 // the authentication tag
	gcmSaltLen = 12 // the master and the session salt
	gcmIVLen   = 12 // the nonce
)

// Key derivation labels (RFC 3711 section 4.3.1).
const (
	labelRTPKey   = 0x00
	labelRTPSalt  = 0x02
	labelRTCPKey  = 0x03
	labelRTCPSalt = 0x05
)

var (
	errSRTPKey        = errors.New("srtp: master key must be 16 or 32 bytes, master salt 12")
	errSRTPCryptexExt = errors.New("srtp: cryptex takes only RFC 8285 header extensions")
	errSRTPExhausted  = errors.New("srtp: 2^48 packets sent under one key")
	errSRTCPShort     = errors.New("srtcp: packet too short")
	errSRTCPReplayed  = errors.New("srtcp: packet replayed or too old")
	errSRTCPAuth      = errors.New("srtcp: authentication failed")
	errSRTCPSSRCs     = errors.New("srtcp: too many sources")
)

// deriveKey fills out with the AES-CM key derivation function of RFC
// 3711 section 4.3.3 under masterKey, for label, at a key derivation
// rate of 0 (as RFC 7714 section 11 and DTLS-SRTP use it): the keystream
// from the counter block x*2^16, x being the master salt, in the block's
// high bytes, with the label XORed into its eighth byte.
func deriveKey(masterKey, masterSalt []byte, label byte, out []byte) error {
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return err
	}
	var x, ks [aes.BlockSize]byte
	if len(masterSalt) > aes.BlockSize-2 {
		return errSRTPKey
	}
	copy(x[:], masterSalt)
	x[7] ^= label
	for i := uint16(0); len(out) > 0; i++ {
		binary.BigEndian.PutUint16(x[aes.BlockSize-2:], i)
		block.Encrypt(ks[:], x[:])
		out = out[copy(out, ks[:]):]
	}
	return nil
}

// gcmSession is one direction's session key, as an AES-GCM AEAD, and its
// session salt.
type gcmSession struct {
	aead cipher.AEAD
	salt [gcmSaltLen]byte
}

// newGCMSession derives the session key and salt of labels keyLabel and
// saltLabel from a master key and salt.
func newGCMSession(masterKey, masterSalt []byte, keyLabel, saltLabel byte) (gcmSession, error) {
	var s gcmSession
	if (len(masterKey) != 16 && len(masterKey) != 32) || len(masterSalt) != gcmSaltLen {
		return s, fmt.Errorf("%w: %d and %d", errSRTPKey, len(masterKey), len(masterSalt))
	}
	key := make([]byte, len(masterKey))
	if err := deriveKey(masterKey, masterSalt, keyLabel, key); err != nil {
		return s, err
	}
	if err := deriveKey(masterKey, masterSalt, saltLabel, s.salt[:]); err != nil {
		return s, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return s, err
	}
	clear(key)
	if s.aead, err = cipher.NewGCM(block); err != nil {
		return s, err
	}
	return s, nil
}

// rtpIV is the nonce of an SRTP packet (RFC 7714 section 8.1): 2 zero
// bytes, the SSRC, the ROC and the sequence number, XORed with the
// session salt.
func (s *gcmSession) rtpIV(iv *[gcmIVLen]byte, ssrc, roc uint32, seq uint16) {
	binary.BigEndian.PutUint16(iv[0:], 0)
	binary.BigEndian.PutUint32(iv[2:], ssrc)
	binary.BigEndian.PutUint32(iv[6:], roc)
	binary.BigEndian.PutUint16(iv[10:], seq)
	s.salted(iv)
}

// rtcpIV is the nonce of an SRTCP packet (RFC 7714 section 9.1): 2 zero
// bytes, the SSRC, 2 zero bytes and the 31-bit SRTCP index, XORed with
// the session salt.
func (s *gcmSession) rtcpIV(iv *[gcmIVLen]byte, ssrc, index uint32) {
	binary.BigEndian.PutUint16(iv[0:], 0)
	binary.BigEndian.PutUint32(iv[2:], ssrc)
	binary.BigEndian.PutUint16(iv[6:], 0)
	binary.BigEndian.PutUint32(iv[8:], index&srtcpIndexMask)
	s.salted(iv)
}

func (s *gcmSession) salted(iv *[gcmIVLen]byte) {
	for i := range iv {
		iv[i] ^= s.salt[i]
	}
}
