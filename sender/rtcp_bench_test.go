package sender

import (
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
)

// feedbackCompound is feedback as a viewer sends it, built by pion's
// recorder: 40 packets, one of them lost, numbered from 0, with a receiver
// report and a NACK.
func feedbackCompound(t testing.TB) []byte {
	rec := twcc.NewRecorder(1)
	for i := range 40 {
		if i != 17 {
			rec.Record(7, uint16(i), 5_000_000+int64(i)*900+int64(i%3)*300)
		}
	}
	pkts := append(rec.BuildFeedbackPacket(),
		&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 7, FractionLost: 3}}},
		&rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: []rtcp.NackPair{{PacketID: 17, LostPackets: 1}}})
	return mustMarshal(t, pkts...)
}

// quietPath is a bound send path whose hooks are a viewer's link
// statistics and whose writer allocates nothing (for 1<<16 packets):
// what it allocates is the walk's. It returns the packets written after
// the first 64.
func quietPath(t testing.TB) (*sendPath, *[]wrote) {
	s, w, out, _ := boundPath(t)
	sendNumbered(t, w, 0, 64, make([]byte, 8))
	*out = make([]wrote, 0, 1<<16)
	var ls linkStats
	s.meter.onReport, s.meter.onNack = ls.report, ls.nack
	return s, out
}

// The meter rearmed: packets 0 to 39 sent again, so that the feedback
// acknowledges each anew.
func resendAll(m *linkMeter, now time.Time) {
	for i := range 40 {
		m.onSend(uint16(i), 1200, now)
	}
}

// Feedback, a receiver report and a NACK answered, walked from their
// bytes, allocate nothing.
func TestRTCPBytesAllocs(t *testing.T) {
	s, out := quietPath(t)
	raw := feedbackCompound(t)
	now := time.Now()
	if n := testing.AllocsPerRun(500, func() {
		now = now.Add(time.Second) // the NACK answered each time
		resendAll(s.meter, now)
		if !s.onRTCPBytes(raw, now) {
			t.Fatal("refused")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per compound packet, want 0", n)
	}
	if s.meter.nRecv < 500*39 || len(*out) < 500*2 {
		t.Fatalf("%d arrivals taken, %d packets resent: the feedback or the NACK was not walked", s.meter.nRecv, len(*out))
	}
}

// directPathIn is a direct viewer's receiving side over s (mediad's own
// SRTCP opener, as for AES-GCM), and pion's sender context that encrypts
// what it decrypts.
func directPathIn(b testing.TB, s *sendPath) (*directIn, *srtp.Context) {
	profile := srtp.ProtectionProfileAeadAes128Gcm
	keyLen, err := profile.KeyLen()
	if err != nil {
		b.Fatal(err)
	}
	saltLen, err := profile.SaltLen()
	if err != nil {
		b.Fatal(err)
	}
	key, salt := make([]byte, keyLen), make([]byte, saltLen)
	enc, err := srtp.CreateContext(key, salt, profile)
	if err != nil {
		b.Fatal(err)
	}
	return &directIn{sp: s, dec: directPathOpener(b), buf: make([]byte, directBuf)}, enc
}

// directPathOpener is a new SRTCP opener with directPathIn's keys.
func directPathOpener(b testing.TB) *rtcpOpener {
	profile := srtp.ProtectionProfileAeadAes128Gcm
	keyLen, _ := profile.KeyLen()
	saltLen, _ := profile.SaltLen()
	dec, err := newRTCPOpener(make([]byte, keyLen), make([]byte, saltLen))
	if err != nil {
		b.Fatal(err)
	}
	return dec
}

// BenchmarkTakeFeedback is one compound packet of feedback, a receiver
// report and a NACK through a direct viewer's take: decrypted and walked.
func BenchmarkTakeFeedback(b *testing.B) {
	s, _ := quietPath(b)
	in, enc := directPathIn(b, s)
	// Each packet its own, as the opener refuses a replay; past the last,
	// a new opener (with directPathIn's keys) takes them again.
	pkts := make([][]byte, 1024)
	for i := range pkts {
		var err error
		if pkts[i], err = enc.EncryptRTCP(nil, feedbackCompound(b), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(pkts) {
			b.StopTimer()
			in.dec = directPathOpener(b)
			i = 0
			b.StartTimer()
		}
		resendAll(s.meter, time.Now())
		if !in.take(pkts[i]) {
			b.Fatal("not taken")
		}
		i++
	}
	if in.taken.Load() == 0 {
		b.Fatal("nothing taken")
	}
}

// BenchmarkRTCPWalk is the same compound packet, decrypted, walked from
// its bytes, and through pion's parse and the parsed walk, as pion's
// path takes it.
func BenchmarkRTCPWalk(b *testing.B) {
	for _, walk := range []struct {
		name string
		take func(s *sendPath, raw []byte, now time.Time)
	}{
		{"bytes", func(s *sendPath, raw []byte, now time.Time) { s.onRTCPBytes(raw, now) }},
		{"parsed", func(s *sendPath, raw []byte, now time.Time) {
			pkts, err := rtcp.Unmarshal(raw)
			if err != nil {
				b.Fatal(err)
			}
			s.onRTCP(pkts, now)
		}},
	} {
		b.Run(walk.name, func(b *testing.B) {
			s, _ := quietPath(b)
			raw := feedbackCompound(b)
			b.ReportAllocs()
			for b.Loop() {
				now := time.Now()
				resendAll(s.meter, now)
				walk.take(s, raw, now)
			}
		})
	}
}
