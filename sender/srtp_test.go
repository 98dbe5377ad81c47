package sender

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// gcmProfiles are the AEAD profiles with their master key sizes.
var gcmProfiles = []struct {
	name    string
	profile srtp.ProtectionProfile
	keyLen  int
}{
	{"gcm128", srtp.ProtectionProfileAeadAes128Gcm, 16},
	{"gcm256", srtp.ProtectionProfileAeadAes256Gcm, 32},
}

// masterKeys returns a master key of keyLen bytes and a master salt
// drawn from rng.
func masterKeys(rng *rand.Rand, keyLen int) (key, salt []byte) {
	key, salt = make([]byte, keyLen), make([]byte, gcmSaltLen)
	for i := range key {
		key[i] = byte(rng.Uint32())
	}
	for i := range salt {
		salt[i] = byte(rng.Uint32())
	}
	return key, salt
}

// rtpCase is one packet to encrypt: a header and payload.
type rtpCase struct {
	name    string
	h       rtp.Header
	payload []byte
}

// rtpCases are packets of every shape mediad could send, and some it
// does not, for ssrc.
func rtpCases(t *testing.T, rng *rand.Rand, ssrc uint32) []rtpCase {
	t.Helper()
	body := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	base := rtp.Header{Version: 2, PayloadType: 96, SSRC: ssrc, Timestamp: rng.Uint32()}
	var cs []rtpCase
	add := func(name string, edit func(h *rtp.Header), payload []byte) {
		h := base
		h.CSRC, h.Extensions = nil, nil
		edit(&h)
		cs = append(cs, rtpCase{name, h, payload})
	}
	set := func(h *rtp.Header, id uint8, v []byte) {
		if err := h.SetExtension(id, v); err != nil {
			t.Fatal(err)
		}
	}
	add("plain", func(*rtp.Header) {}, body(1100))
	add("marker, empty payload", func(h *rtp.Header) { h.Marker = true }, nil)
	add("one-byte extensions", func(h *rtp.Header) { set(h, 3, body(2)); set(h, 5, body(3)) }, body(900))
	add("one-byte extension of 16 bytes", func(h *rtp.Header) { set(h, 1, body(16)) }, body(300))
	add("two-byte extension", func(h *rtp.Header) { set(h, 4, body(20)); set(h, 7, body(1)) }, body(600))
	add("CSRCs and an extension", func(h *rtp.Header) { h.CSRC = []uint32{rng.Uint32(), rng.Uint32()}; set(h, 3, body(2)) }, body(500))
	add("CSRCs and no extension", func(h *rtp.Header) { h.CSRC = []uint32{rng.Uint32(), rng.Uint32(), rng.Uint32()} }, body(400))
	add("padding only", func(h *rtp.Header) { h.Padding, h.PaddingSize = true, 224; set(h, 3, body(2)) }, nil)
	add("payload and padding", func(h *rtp.Header) { h.Padding, h.PaddingSize = true, 3 }, body(777))
	return cs
}

// pionSealed is pion's encryption of h and payload, as mediad's direct
// path made it before: marshaled, then encrypted by the context.
func pionSealed(ctx *srtp.Context, h *rtp.Header, payload []byte) ([]byte, error) {
	size := h.MarshalSize() + len(payload) + int(h.PaddingSize)
	buf := make([]byte, size)
	if _, err := rtp.MarshalPacketTo(buf, h, payload); err != nil { //nolint:staticcheck // as the direct path marshaled
		return nil, err
	}
	return ctx.EncryptRTP(nil, buf, nil)
}

// ownSealed is the same packet sealed by s.
func ownSealed(s *rtpSealer, h *rtp.Header, payload []byte) ([]byte, error) {
	var p sealedRTP
	if err := s.prepare(&p, h, payload); err != nil {
		return nil, err
	}
	out := make([]byte, p.size)
	s.seal(out, &p)
	return out, nil
}

// sealPair is mediad's sealer and pion's context on the same keys.
func sealPair(t *testing.T, rng *rand.Rand, profile srtp.ProtectionProfile, keyLen int, cryptex bool) (*rtpSealer, *srtp.Context) {
	t.Helper()
	key, salt := masterKeys(rng, keyLen)
	var opts []srtp.ContextOption
	if cryptex {
		opts = append(opts, srtp.Cryptex(srtp.CryptexModeEnabled))
	}
	ctx, err := srtp.CreateContext(key, salt, profile, opts...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newRTPSealer(key, salt, cryptex)
	if err != nil {
		t.Fatal(err)
	}
	return s, ctx
}

// sameSealed seals h and payload with both and fails unless the bytes
// (or the refusals) are the same.
func sameSealed(t *testing.T, s *rtpSealer, ctx *srtp.Context, what string, h *rtp.Header, payload []byte) {
	t.Helper()
	want, werr := pionSealed(ctx, h, payload)
	got, err := ownSealed(s, h, payload)
	switch {
	case (err != nil) != (werr != nil):
		t.Fatalf("%s: error %v, pion's %v", what, err, werr)
	case err == nil && !bytes.Equal(got, want):
		t.Fatalf("%s (seq %d): sealed differently from pion:\n got %x\nwant %x", what, h.SequenceNumber, got, want)
	}
}

// Every packet shape, with both key sizes and with cryptex or not, is
// sealed byte for byte as pion's srtp.Context encrypts it.
func TestSealMatchesPion(t *testing.T) {
	for _, p := range gcmProfiles {
		for _, cryptex := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s-cryptex-%v", p.name, cryptex), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(p.keyLen), 1))
				s, ctx := sealPair(t, rng, p.profile, p.keyLen, cryptex)
				seq := uint16(rng.Uint32())
				for round := range 3 {
					for _, c := range rtpCases(t, rng, 0x1234_5678) {
						c.h.SequenceNumber = seq
						seq++
						sameSealed(t, s, ctx, fmt.Sprintf("round %d, %s", round, c.name), &c.h, c.payload)
					}
				}
				// A header extension that is not RFC 8285's: refused under
				// cryptex by both, sealed alike without.
				h := rtp.Header{Version: 2, SSRC: 9, SequenceNumber: seq, Extension: true, ExtensionProfile: 0x1234}
				h.Extensions = nil
				if err := h.SetExtension(0, []byte{1, 2, 3, 4}); err != nil {
					t.Fatal(err)
				}
				sameSealed(t, s, ctx, "RFC 3550 extension", &h, []byte{5, 6, 7})
			})
		}
	}
}

// Across wraps of the sequence numbers, with packets sent again under
// older numbers (resends after NACKs, some from before a wrap) and
// several SSRCs interleaved, every packet takes the index pion gives
// it: the bytes are the same.
func TestSealIndexMatchesPion(t *testing.T) {
	for _, p := range gcmProfiles {
		t.Run(p.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(p.keyLen), 2))
			s, ctx := sealPair(t, rng, p.profile, p.keyLen, true)
			type src struct {
				ssrc uint32
				next uint16
			}
			srcs := []*src{{0xAAAA, 65500}, {0xBBBB, 40000}, {0xCCCC, 3}}
			payload := []byte{1, 2, 3, 4, 5, 6, 7, 8}
			h := rtp.Header{Version: 2, PayloadType: 100}
			for i := range 100_000 {
				sr := srcs[rng.IntN(len(srcs))]
				h.SSRC = sr.ssrc
				switch r := rng.IntN(100); {
				case r < 5: // a resend of a recent packet
					h.SequenceNumber = sr.next - 1 - uint16(rng.IntN(3000))
				case r < 6: // a late resend, near half the number space back
					h.SequenceNumber = sr.next - uint16(30000+rng.IntN(2700))
				case r < 8: // a jump ahead (packets lost, or a switch)
					sr.next += uint16(rng.IntN(400))
					fallthrough
				default:
					h.SequenceNumber = sr.next
					sr.next++
				}
				sameSealed(t, s, ctx, fmt.Sprintf("packet %d", i), &h, payload)
			}
			// The sealer's index agrees with pion's ROC at the end.
			for _, sr := range srcs {
				want, _ := ctx.ROC(sr.ssrc)
				for _, st := range s.srcs {
					if st.ssrc == sr.ssrc && uint32(st.index>>16) != want {
						t.Fatalf("ssrc %#x: ROC %d, pion's %d", sr.ssrc, st.index>>16, want)
					}
				}
				if want < 2 {
					t.Fatalf("ssrc %#x: ROC %d: the numbers did not wrap enough to test", sr.ssrc, want)
				}
			}
		})
	}
}

// srtcpPair is mediad's opener and pion's encrypting context on the same
// keys, with pion's decrypting context as the reference for refusals.
func srtcpPair(t *testing.T, rng *rand.Rand, profile srtp.ProtectionProfile, keyLen int, opts ...srtp.ContextOption) (*rtcpOpener, *srtp.Context, *srtp.Context) {
	t.Helper()
	key, salt := masterKeys(rng, keyLen)
	enc, err := srtp.CreateContext(key, salt, profile, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := srtp.CreateContext(key, salt, profile, append(opts, srtp.SRTCPReplayProtection(srtcpWindow))...)
	if err != nil {
		t.Fatal(err)
	}
	o, err := newRTCPOpener(key, salt)
	if err != nil {
		t.Fatal(err)
	}
	return o, enc, ref
}

// rtcpCompound is a receiver report and a PLI from ssrc, marshaled.
func rtcpCompound(t *testing.T, ssrc uint32, n int) []byte {
	t.Helper()
	b, err := rtcpCompoundB(ssrc, n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rtcpCompoundB(ssrc uint32, n int) ([]byte, error) {
	return rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: ssrc, Reports: []rtcp.ReceptionReport{{SSRC: 0xAAAA, LastSequenceNumber: uint32(n), Jitter: 7}}},
		&rtcp.PictureLossIndication{SenderSSRC: ssrc, MediaSSRC: 0xAAAA},
	})
}

// SRTCP that pion encrypts, with either key size, encrypted (E set) or
// only authenticated, decrypts to what was sent; a packet taken before,
// or older than the window, is refused; a packet with any one bit
// flipped is refused and leaves the window as it was. Each answer is
// pion's for the same packets.
func TestOpenSRTCPFromPion(t *testing.T) {
	for _, p := range gcmProfiles {
		for _, enc := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s-encrypted-%v", p.name, enc), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(p.keyLen), 3))
				var opts []srtp.ContextOption
				if !enc {
					opts = append(opts, srtp.SRTCPNoEncryption())
				}
				o, ctx, ref := srtcpPair(t, rng, p.profile, p.keyLen, opts...)
				var plain, sealed [][]byte
				for i := range 400 {
					pt := rtcpCompound(t, 0x5000+uint32(i%2), i)
					ct, err := ctx.EncryptRTCP(nil, pt, nil)
					if err != nil {
						t.Fatal(err)
					}
					plain, sealed = append(plain, pt), append(sealed, ct)
				}
				dst := make([]byte, 1600)
				try := func(what string, pkt []byte, want []byte) {
					t.Helper()
					_, rerr := ref.DecryptRTCP(nil, pkt, nil)
					got, err := o.decryptRTCP(dst, pkt)
					if (err == nil) != (rerr == nil) {
						t.Fatalf("%s: error %v, pion's %v", what, err, rerr)
					}
					if err == nil && !bytes.Equal(got, want) {
						t.Fatalf("%s: decrypted to %x, want %x", what, got, want)
					}
					if err == nil && want == nil {
						t.Fatalf("%s: taken, want refused", what)
					}
				}
				flipped := func(pkt []byte) []byte {
					f := bytes.Clone(pkt)
					bit := rng.IntN(8 * len(f))
					f[bit/8] ^= 1 << (bit % 8)
					return f
				}
				// In order, some held back and sent late, some twice, some
				// with a bit flipped first, some far too late.
				// Packet k is index k/2+1 of sender k%2.
				var late []int
				newest := [2]int{}
				var lateTaken, lateRefused int
				// tryLate opens packet j after newer ones: refused once
				// the window has moved past it.
				tryLate := func(j int, what string) {
					want := plain[j]
					if newest[j%2]-(j/2+1) >= srtcpWindow {
						want = nil
						lateRefused++
					} else {
						lateTaken++
					}
					try(what, sealed[j], want)
				}
				for i := range sealed {
					if i%7 == 3 {
						late = append(late, i)
						continue
					}
					try(fmt.Sprintf("flipped %d", i), flipped(sealed[i]), nil)
					try(fmt.Sprintf("packet %d", i), sealed[i], plain[i])
					newest[i%2] = i/2 + 1
					if i%5 == 0 {
						try(fmt.Sprintf("packet %d again", i), sealed[i], nil)
					}
					if len(late) > 0 && i%11 == 0 {
						j := late[0]
						late = late[1:]
						tryLate(j, fmt.Sprintf("packet %d late, after %d", j, i))
					}
				}
				for _, j := range late {
					tryLate(j, fmt.Sprintf("packet %d at the end", j))
				}
				if lateTaken == 0 || lateRefused == 0 {
					t.Fatalf("late packets: %d taken, %d refused; the test wants both", lateTaken, lateRefused)
				}
				try("cut short", sealed[0][:srtcpHeaderLen+gcmTagLen+srtcpIndexLen-1], nil)
			})
		}
	}
}

// A packet that does not authenticate is an error the caller can count
// by its kind.
func TestOpenSRTCPErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	o, ctx, _ := srtcpPair(t, rng, srtp.ProtectionProfileAeadAes128Gcm, 16)
	ct, err := ctx.EncryptRTCP(nil, rtcpCompound(t, 1, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(ct)
	bad[len(bad)-srtcpIndexLen-1] ^= 1 // the tag
	if _, err := o.decryptRTCP(nil, bad); !errors.Is(err, errSRTCPAuth) {
		t.Fatalf("bad tag: %v, want %v", err, errSRTCPAuth)
	}
	if _, err := o.decryptRTCP(nil, ct); err != nil {
		t.Fatal(err)
	}
	if _, err := o.decryptRTCP(nil, ct); !errors.Is(err, errSRTCPReplayed) {
		t.Fatalf("replay: %v, want %v", err, errSRTCPReplayed)
	}
}

// Whatever bytes come, the opener returns an error or the RTCP that was
// sealed, and never panics; a packet it takes was sealed by the peer.
func FuzzOpenSRTCP(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 9))
	key, salt := masterKeys(rng, 16)
	enc, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		f.Fatal(err)
	}
	sealed := map[string][]byte{}
	for i := range 4 {
		raw, err := rtcpCompoundB(uint32(i), i)
		if err != nil {
			f.Fatal(err)
		}
		ct, err := enc.EncryptRTCP(nil, raw, nil)
		if err != nil {
			f.Fatal(err)
		}
		sealed[string(ct)] = raw
		f.Add(ct)
	}
	f.Add([]byte{0x80, 0xc9, 0, 1})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		o, err := newRTCPOpener(key, salt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := o.decryptRTCP(make([]byte, 64), pkt)
		if err != nil {
			return
		}
		if want, ok := sealed[string(pkt)]; !ok || !bytes.Equal(got, want) {
			t.Fatalf("took %x as %x", pkt, got)
		}
	})
}
