package signaling

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mutstream/mutstream/stream"
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
		{"vp8 only, h264 configured", vp8Only, http.StatusUnprocessableEntity, "offered: VP8; accepted: H264"},
		{"av1 and vp9 only", strings.NewReplacer("VP8/", "VP9/", "H264/", "AV1/").Replace(chromeLikeOffer), http.StatusUnprocessableEntity, "offered: AV1, VP9; accepted: H264"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, err := parseOffer([]byte(strings.ReplaceAll(tc.offer, "\n", "\r\n")))
			if err == nil {
				err = checkViewerOffer(sum, []stream.Codec{stream.CodecH264})
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

// TestPickViewerCodec: a viewer gets the first codec of the config's order
// that its offer has and the stream sends; with none, 422 naming what is
// accepted.
func TestPickViewerCodec(t *testing.T) {
	vp8Only := strings.Replace(chromeLikeOffer, "a=rtpmap:102 H264/90000\n", "", 1)
	h264Only := strings.Replace(chromeLikeOffer, "a=rtpmap:96 VP8/90000\n", "", 1)
	h, v := stream.CodecH264, stream.CodecVP8
	for _, tc := range []struct {
		name        string
		offer       string
		prefs, has  []stream.Codec
		want        stream.Codec
		wantErrText string
	}{
		{"both offered, h264 first", chromeLikeOffer, []stream.Codec{h, v}, []stream.Codec{h, v}, h, ""},
		{"both offered, vp8 first", chromeLikeOffer, []stream.Codec{v, h}, []stream.Codec{h, v}, v, ""},
		{"vp8 only offer", vp8Only, []stream.Codec{h, v}, []stream.Codec{h, v}, v, ""},
		{"h264 only offer", h264Only, []stream.Codec{v, h}, []stream.Codec{h, v}, h, ""},
		{"vp8 first but the stream has no vp8", chromeLikeOffer, []stream.Codec{v, h}, []stream.Codec{h}, h, ""},
		{"no ladder yet: the offer decides", vp8Only, []stream.Codec{h, v}, nil, v, ""},
		{"vp8 only offer, stream h264 only", vp8Only, []stream.Codec{h, v}, []stream.Codec{h}, "", "offered: VP8; accepted: H264"},
		{"vp8 only offer, vp8 not configured", vp8Only, []stream.Codec{h}, []stream.Codec{h, v}, "", "offered: VP8; accepted: H264"},
		{"h264 only offer, vp8 only configured", h264Only, []stream.Codec{v}, []stream.Codec{h, v}, "", "offered: H264; accepted: VP8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, err := parseOffer([]byte(strings.ReplaceAll(tc.offer, "\n", "\r\n")))
			if err != nil {
				t.Fatal(err)
			}
			got, err := pickViewerCodec(sum, tc.prefs, tc.has)
			if tc.wantErrText != "" {
				if err == nil || statusOf(err) != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), tc.wantErrText) {
					t.Fatalf("got %q, %v; want 422 saying %q", got, err, tc.wantErrText)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestValidateViewerCodecs(t *testing.T) {
	for _, tc := range []struct {
		codecs []stream.Codec
		want   string
	}{
		{[]stream.Codec{"h264", "vp8"}, ""},
		{[]stream.Codec{"vp8"}, ""},
		{nil, "viewer_codecs: at least one"},
		{[]stream.Codec{"h264", "vp9"}, `viewer_codecs[1]: "vp9"`},
		{[]stream.Codec{"vp8", "vp8"}, "viewer_codecs[1]: \"vp8\" is listed twice"},
	} {
		err := validateViewerCodecs(tc.codecs)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: %v, want %q", tc.codecs, err, tc.want)
		}
	}
	c := DefaultConfig()
	c.ViewerCodecs = []stream.Codec{"av1"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "viewer_codecs[0]") {
		t.Fatalf("Validate: %v, want an error naming viewer_codecs[0]", err)
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
