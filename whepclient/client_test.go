package whepclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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

// TestForeignLocationGetsNoToken: a 201 whose Location is on another
// host is refused, and a Session whose Location was moved elsewhere does
// not send its token there; a relative Location on the endpoint's host
// gets the token.
func TestForeignLocationGetsNoToken(t *testing.T) {
	var leaked atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer foreign.Close()
	var gotToken atomic.Value
	gotToken.Store("")
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			if r.URL.Query().Get("to") == "foreign" {
				w.Header().Set("Location", foreign.URL+"/whep/s/1")
			} else {
				w.Header().Set("Location", "/whep/s/1")
			}
			w.Header().Set("Content-Type", "application/sdp")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("v=0\r\n"))
		case http.MethodDelete:
			gotToken.Store(r.Header.Get("Authorization"))
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer origin.Close()

	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	o := Options{Token: "cluster-secret", Client: origin.Client()}
	if _, err := Dial(context.Background(), origin.URL+"/whep/s?to=foreign", pc, o); !errors.Is(err, ErrForeignLocation) {
		t.Fatalf("a foreign Location: %v, want ErrForeignLocation", err)
	}

	// A same-host Location: Delete sends the token there.
	loc, base, err := resolve(origin.URL+"/whep/s", "/whep/s/1")
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{Location: loc, token: o.Token, client: origin.Client(), origin: base}
	if code, err := s.Delete(context.Background()); err != nil || code != http.StatusOK {
		t.Fatalf("Delete on the endpoint's host: %d %v", code, err)
	}
	if got := gotToken.Load().(string); got != "Bearer cluster-secret" {
		t.Fatalf("Delete on the endpoint's host sent %q", got)
	}
	// The same Session moved to another host sends nothing.
	s.Location = foreign.URL + "/whep/s/1"
	if _, err := s.Delete(context.Background()); !errors.Is(err, ErrForeignLocation) {
		t.Fatalf("Delete on a foreign host: %v, want ErrForeignLocation", err)
	}
	if n := leaked.Load(); n != 0 {
		t.Fatalf("the token reached the foreign host %d times", n)
	}
}
