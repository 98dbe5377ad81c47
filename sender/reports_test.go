package sender

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// The send path's sender reports count what each stream sent and give
// the RTP time of the moment they are made: the latest timestamp moved on
// at the stream's clock rate.
func TestSenderReports(t *testing.T) {
	sp, err := sendPathFactory{}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	s := sp.(*sendPath)
	if got := s.senderReports(time.Now()); len(got) != 0 {
		t.Fatalf("%d reports before any stream", len(got))
	}
	w := s.BindLocalStream(&interceptor.StreamInfo{SSRC: 7, ClockRate: 90000, MimeType: "video/H264"},
		interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }))
	s.BindLocalStream(&interceptor.StreamInfo{SSRC: 8, ClockRate: 48000, MimeType: "audio/opus"},
		interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }))
	for i := range 3 {
		h := rtp.Header{Version: 2, SSRC: 7, SequenceNumber: uint16(i), Timestamp: 1000}
		if _, err := w.Write(&h, make([]byte, 100), nil); err != nil {
			t.Fatal(err)
		}
	}
	sentAt := time.Now()
	s.mu.Lock()
	s.streams[7].mu.Lock()
	s.streams[7].sr.lastAt = sentAt
	s.streams[7].mu.Unlock()
	s.mu.Unlock()
	got := s.senderReports(sentAt.Add(500 * time.Millisecond))
	if len(got) != 1 {
		t.Fatalf("%d reports, want 1 (the audio stream sent nothing)", len(got))
	}
	sr, ok := got[0].(*rtcp.SenderReport)
	if !ok || sr.SSRC != 7 || sr.PacketCount != 3 || sr.OctetCount != 300 || sr.RTPTime != 1000+45000 {
		t.Fatalf("report %+v, want SSRC 7, 3 packets, 300 octets, RTP time %d", got[0], 1000+45000)
	}
	if want := ntpTime(sentAt.Add(500 * time.Millisecond)); sr.NTPTime != want {
		t.Fatalf("NTP time %x, want %x", sr.NTPTime, want)
	}
}
