package signaling

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const chromeLikeOffer = `v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
m=video 9 UDP/TLS/RTP/SAVPF 96 102
c=IN IP4 0.0.0.0
a=mid:0
a=recvonly
a=ice-ufrag:abcd
a=ice-pwd:abcdefghijklmnopqrstuvwx
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF
a=setup:actpass
a=rtcp-mux
a=rtpmap:96 VP8/90000
a=rtpmap:102 H264/90000
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
m=audio 9 UDP/TLS/RTP/SAVPF 111
c=IN IP4 0.0.0.0
a=mid:1
a=recvonly
a=rtcp-mux
a=rtpmap:111 opus/48000/2
`

func TestParseOffer(t *testing.T) {
	vp8Only := strings.Replace(chromeLikeOffer, "a=rtpmap:102 H264/90000\n", "", 1)
	vp8Only = strings.Replace(vp8Only, "m=video 9 UDP/TLS/RTP/SAVPF 96 102", "m=video 9 UDP/TLS/RTP/SAVPF 96", 1)
	audioOnly := chromeLikeOffer[:strings.Index(chromeLikeOffer, "m=video")] + chromeLikeOffer[strings.Index(chromeLikeOffer, "m=audio"):]
	noMedia := chromeLikeOffer[:strings.Index(chromeLikeOffer, "m=video")]
	for _, tc := range []struct {
		name   string
		offer  string
		status int
		want   string
	}{
		{"ok", chromeLikeOffer, 0, ""},
		{"empty", "", http.StatusBadRequest, "empty"},
		{"blank", "  \r\n", http.StatusBadRequest, "empty"},
		{"garbage", "hello world", http.StatusBadRequest, "malformed SDP"},
		{"too large", chromeLikeOffer + strings.Repeat("a=x:y\n", MaxSDPSize/6), http.StatusRequestEntityTooLarge, "64 KiB"},
		{"no media", noMedia, http.StatusUnprocessableEntity, "no media"},
		{"audio only", audioOnly, http.StatusUnprocessableEntity, "no video"},
		{"vp8 only", vp8Only, http.StatusUnprocessableEntity, "offered: VP8; accepted: H264"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, err := parseOffer([]byte(strings.ReplaceAll(tc.offer, "\n", "\r\n")))
			if err == nil {
				err = checkViewerOffer(sum)
			}
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !sum.hasAudio || !sum.has("video", "h264") {
					t.Fatalf("summary wrong: %+v", sum)
				}
				return
			}
			if err == nil {
				t.Fatalf("want status %d, got no error", tc.status)
			}
			if got := statusOf(err); got != tc.status {
				t.Fatalf("status %d, want %d (%v)", got, tc.status, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

// realOffers are offers captured from real clients (Chromium 156 playing
// and publishing its fake camera) and one in the shape OBS 30's WHIP output
// (libdatachannel) sends.
func realOffers(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/offers/*.sdp")
	if err != nil || len(files) == 0 {
		t.Fatalf("no offers in testdata/offers: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

func TestRealOffersAccepted(t *testing.T) {
	for name, b := range realOffers(t) {
		kind := "whip"
		if strings.Contains(name, "whep") {
			kind = "whep"
		}
		if _, err := validateOffer(kind, b); err != nil {
			t.Errorf("%s refused as a %s offer: %v", name, kind, err)
		}
	}
}

// FuzzOffer feeds the offer checks arbitrary bytes, seeded with real
// offers: every refusal must carry an HTTP status, and nothing may panic.
func FuzzOffer(f *testing.F) {
	for _, b := range realOffers(f) {
		f.Add(b, true)
		f.Add(b, false)
	}
	f.Add([]byte(strings.ReplaceAll(chromeLikeOffer, "\n", "\r\n")), false)
	f.Add([]byte("v=0\r\nm=video 9 RTP/AVP 0\r\n"), true)
	f.Fuzz(func(t *testing.T, b []byte, whip bool) {
		kind := "whep"
		if whip {
			kind = "whip"
		}
		if _, err := validateOffer(kind, b); err != nil && statusOf(err) == http.StatusInternalServerError {
			t.Fatalf("offer error without a status: %v", err)
		}
		if _, err := parseSDPFrag(b); err != nil && statusOf(err) == http.StatusInternalServerError {
			t.Fatalf("sdpfrag error without a status: %v", err)
		}
	})
}
