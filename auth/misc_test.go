package auth

import (
	"strings"
	"testing"
	"time"
)

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                      "192.0.2.7",
		"192.0.2.7:5000":                 "192.0.2.7",
		"::ffff:192.0.2.7":               "192.0.2.7",
		"2001:db8:1:2:aaaa::1":           "2001:db8:1:2::/64",
		"2001:db8:1:2:bbbb:cccc:dddd:ee": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:443":          "2001:db8:1:3::/64",
		"fe80::1%eth0":                   "fe80::/64",
		"":                               "",
		"not an address":                 "not an address",
	} {
		if got := ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "",
		"short":                    "****",
		"0123456789abcdef0123":     "0123****",
		"a8f3e1c2d4b5a6f7e8d9c0b1": "a8f3****",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
	const secret = "a8f3e1c2d4b5a6f7e8d9c0b1"
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	for _, in := range []string{
		"rtmp://host/live/cam?token=" + secret,
		"rtmp://host/live/cam?x=1&token=" + secret + "&y=2",
		"GET /whep/cam?access_token=" + secret + " HTTP/1.1",
		"Authorization: Bearer " + secret,
		`header "bearer ` + secret + `"`,
		"https://user:" + secret + "@hooks.example/auth",
		"dial: " + jwt + " refused",
		"turn secret=" + secret,
		"password=" + secret,
	} {
		got := MaskString(in)
		if strings.Contains(got, secret) || strings.Contains(got, "c2lnbmF0dXJl") || !strings.Contains(got, Masked) {
			t.Errorf("MaskString(%q) = %q", in, got)
		}
	}
	for _, keep := range []string{"missing bearer token", "wrong bearer token for this stream", "rtmp://host/live/cam", "stream=cam&rung=360p", "token="} {
		if got := MaskString(keep); got != keep {
			t.Errorf("MaskString(%q) = %q, changed text with no secret", keep, got)
		}
	}
	for in, want := range map[string]string{
		"rtmp://h/live/cam?token=SECRET":                  "rtmp://h/live/cam?token=***",
		"rtmp://h/live/cam?a=1&token=SECRET&b=2":          "rtmp://h/live/cam?a=1&token=***&b=2",
		`parse "rtmp://h/live/%zz?token=SECRET": invalid`: `parse "rtmp://h/live/%zz?token=***": invalid`,
		"rtmp://h/live/cam?TOKEN=SECRET":                  "rtmp://h/live/cam?TOKEN=***",
		"rtmp://h/live/cam%3Ftoken%3DSECRET":              "rtmp://h/live/cam%3Ftoken%3D***",
		"rtmp://user:SECRET@h/live/cam":                   "rtmp://user:***@h/live/cam",
		"rtmp://h/live/cam?jwt=SECRET":                    "rtmp://h/live/cam?jwt=***",
		"obs stream_key=SECRET":                           "obs stream_key=***",
		"stream \"token=SECRET\" must match":              "stream \"token=***\" must match",
	} {
		if got := MaskString(in); got != want {
			t.Errorf("MaskString(%q) = %q, want %q", in, got, want)
		}
	}
	for name, want := range map[string]bool{"token": true, "Access_Token": true, "stream_key": true, "passwd": true, "signature": true, "rung": false, "stream": false} {
		if SecretName(name) != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, !want, want)
		}
	}
}

// TestTURNCredentials checks against a credential computed outside Go:
// echo -n 1700000000:alice | openssl dgst -sha1 -hmac turn-shared-secret -binary | base64
func TestTURNCredentials(t *testing.T) {
	u, c := TURNCredentials("turn-shared-secret", "alice", time.Unix(1_700_000_000, 0))
	if u != "1700000000:alice" || c != "RXM8cmVrcU98snNLpKm+uJgLUBU=" {
		t.Fatalf("%q %q", u, c)
	}
}
