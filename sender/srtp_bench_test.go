package sender

import (
	"math/rand/v2"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/mutstream/mutstream/internal/udpbatch"
)

// benchDirectOut is a direct writer on a batched loopback port, sending
// to a socket that reads nothing (the kernel drops what overflows it),
// with AES-128-GCM and cryptex as pion viewers negotiate them: through
// mediad's own SRTP into batch slots (own) or through pion's context
// into d.buf and a copy into the batch (the path before it).
func benchDirectOut(b *testing.B, own bool) *directOut {
	b.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	sink, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	bc := udpbatch.New(conn, 32, time.Millisecond)
	b.Cleanup(func() { _ = bc.Close(); _ = sink.Close() })
	key, salt := masterKeys(rand.New(rand.NewPCG(1, 1)), 16)
	d := &directOut{conn: NewPort(bc), buf: make([]byte, directBuf)}
	d.addr.Store(sink.LocalAddr().(*net.UDPAddr))
	if own {
		if d.seal, err = newRTPSealer(key, salt, true); err != nil {
			b.Fatal(err)
		}
		d.batch = bc
	} else if d.ctx, err = srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm, srtp.Cryptex(srtp.CryptexModeEnabled)); err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkDirectWrite is the direct writer's cost for one 1100-byte
// video packet with a transport-wide sequence number: marshal, SRTP and
// the batched socket (the flusher's sendmmsg included, on its own
// goroutine). own: 0 allocs/op.
func BenchmarkDirectWrite(b *testing.B) {
	for _, bc := range []struct {
		name string
		own  bool
	}{{"pion-copy", false}, {"own-slot", true}} {
		b.Run(bc.name, func(b *testing.B) {
			d := benchDirectOut(b, bc.own)
			h := rtp.Header{Version: 2, PayloadType: 102, SSRC: 0x1234, Timestamp: 90000}
			ext := []byte{0, 0}
			if err := h.SetExtension(3, ext); err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, 1100)
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				h.SequenceNumber = uint16(i)
				ext[0], ext[1] = byte(i>>8), byte(i)
				if _, err := d.write(&h, payload); err != nil {
					b.Fatal(err)
				}
			}
			// The process's CPU (the writer and the flusher's sendmmsg),
			// which a busy machine inflates less than the time per op.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkSeal is the encryption alone of BenchmarkDirectWrite's
// packet, into a buffer: pion's marshal and context, or mediad's
// sealer.
func BenchmarkSeal(b *testing.B) {
	key, salt := masterKeys(rand.New(rand.NewPCG(1, 1)), 16)
	h := rtp.Header{Version: 2, PayloadType: 102, SSRC: 0x1234, Timestamp: 90000}
	ext := []byte{0, 0}
	if err := h.SetExtension(3, ext); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 1100)
	buf := make([]byte, directBuf)
	b.Run("pion", func(b *testing.B) {
		ctx, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm, srtp.Cryptex(srtp.CryptexModeEnabled))
		if err != nil {
			b.Fatal(err)
		}
		var hdr rtp.Header
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for i := 0; i < b.N; i++ {
			h.SequenceNumber = uint16(i)
			_, size := rtp.HeaderAndPacketMarshalSize(&h, payload)           //nolint:staticcheck // as the direct path did
			if _, err := rtp.MarshalPacketTo(buf, &h, payload); err != nil { //nolint:staticcheck // as the direct path did
				b.Fatal(err)
			}
			if _, err := ctx.EncryptRTP(buf, buf[:size], &hdr); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("own", func(b *testing.B) {
		s, err := newRTPSealer(key, salt, true)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for i := 0; i < b.N; i++ {
			h.SequenceNumber = uint16(i)
			var p sealedRTP
			if err := s.prepare(&p, &h, payload); err != nil {
				b.Fatal(err)
			}
			s.seal(buf[:p.size], &p)
		}
	})
}

// BenchmarkSRTCPDecrypt is the cost of authenticating and decrypting
// one viewer's SRTCP packet (a receiver report and a PLI, 88 bytes
// sealed) encrypted by pion, with the 64-packet replay window: pion's
// context or mediad's opener. The packets are made ahead, 4096 of them;
// the replay state starts again each time they are used up (for pion a
// new context: its allocations spread over 4096 packets). own: 0
// allocs/op.
func BenchmarkSRTCPDecrypt(b *testing.B) {
	const n = 4096
	key, salt := masterKeys(rand.New(rand.NewPCG(2, 2)), 16)
	enc, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		b.Fatal(err)
	}
	pkts := make([][]byte, n)
	for i := range pkts {
		raw, err := rtcpCompoundB(0x5000, i)
		if err != nil {
			b.Fatal(err)
		}
		if pkts[i], err = enc.EncryptRTCP(nil, raw, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("pion", func(b *testing.B) {
		dst := make([]byte, directBuf)
		var ctx *srtp.Context
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if i%n == 0 {
				if ctx, err = srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm, srtp.SRTCPReplayProtection(srtcpWindow)); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := (pionRTCP{ctx}).decryptRTCP(dst, pkts[i%n]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("own", func(b *testing.B) {
		dst := make([]byte, directBuf)
		o, err := newRTCPOpener(key, salt)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i%n == 0 {
				o.wins = o.wins[:0]
			}
			if _, err := o.decryptRTCP(dst, pkts[i%n]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// processCPU returns the CPU time this process has used, user and system.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
