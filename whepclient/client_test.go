package whepclient

import (
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// videoFormats returns the rtpmap encodings of the offer's video section.
func videoFormats(t *testing.T, sdp string) []string {
	t.Helper()
	var out []string
	in := false
	for _, l := range strings.Split(sdp, "\r\n") {
		if strings.HasPrefix(l, "m=") {
			in = strings.HasPrefix(l, "m=video")
		}
		if in && strings.HasPrefix(l, "a=rtpmap:") {
			enc := strings.Fields(l)[1]
			out = append(out, enc[:strings.IndexByte(enc, '/')])
		}
	}
	return out
}

// TestPrepareVideoCodec: with VideoCodec the offer's video has that codec
// (and its retransmission format) only; without it, every codec.
func TestPrepareVideoCodec(t *testing.T) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me))
	for _, c := range []struct {
		mime string
		want string // the one codec offered, "" for all
	}{
		{webrtc.MimeTypeVP8, "VP8"},
		{webrtc.MimeTypeH264, "H264"},
		{"", ""},
	} {
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		if err := Prepare(pc, Options{Audio: true, VideoCodec: c.mime}); err != nil {
			t.Fatal(err)
		}
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = pc.Close()
		formats := videoFormats(t, offer.SDP)
		seen := map[string]int{}
		for _, f := range formats {
			seen[f]++
		}
		if c.want == "" {
			if seen["VP8"] == 0 || seen["H264"] == 0 {
				t.Errorf("no VideoCodec: offered %v, want VP8 and H264 among others", formats)
			}
			continue
		}
		if seen[c.want] == 0 || seen["rtx"] != seen[c.want] || len(seen) != 2 {
			t.Errorf("VideoCodec %s: offered %v, want %s and one rtx each", c.mime, formats, c.want)
		}
		if !strings.Contains(offer.SDP, "m=audio") {
			t.Errorf("VideoCodec %s: the audio section is gone", c.mime)
		}
	}
}

// TestPrepareUnknownCodec: a codec the API has not registered is an error.
func TestPrepareUnknownCodec(t *testing.T) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := Prepare(pc, Options{VideoCodec: webrtc.MimeTypeH264}); err == nil || !strings.Contains(err.Error(), "video/H264") {
		t.Fatalf("Prepare with an unregistered codec: %v", err)
	}
}
