package rtmp

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// joinLikeLibrary builds the URL the way gortmplib joins tcUrl and the
// publish stream key.
func joinLikeLibrary(t testing.TB, tcURL, key string) *url.URL {
	t.Helper()
	if key != "" && key[0] != '?' {
		tcURL += "/" + key
	}
	u, err := url.Parse(tcURL)
	if err != nil {
		t.Skipf("unparsable: %v", err)
	}
	return u
}

func TestParsePublishURL(t *testing.T) {
	tests := []struct {
		name      string
		tcURL     string
		key       string
		wantName  string
		wantToken string
		wantErr   bool
	}{
		{"ffmpeg", "rtmp://127.0.0.1:1935/live", "cam1?token=abc", "cam1", "abc", false},
		{"obs", "rtmp://host/live", "my_Stream-2?token=t%20x", "my_Stream-2", "t x", false},
		{"no token", "rtmp://host/live", "cam", "cam", "", false},
		{"trailing slash", "rtmp://host/live/", "cam?token=a", "", "", true},
		{"other app", "rtmp://host/vod", "cam?token=a", "", "", true},
		{"no name", "rtmp://host/live", "", "", "", true},
		{"nested", "rtmp://host/live", "a/b?token=a", "", "", true},
		{"bad char", "rtmp://host/live", "a.b?token=a", "", "", true},
		{"too long", "rtmp://host/live", strings.Repeat("x", 65), "", "", true},
		{"max length", "rtmp://host/live", strings.Repeat("x", 64), strings.Repeat("x", 64), "", false},
		{"encoded slash", "rtmp://host/live", "a%2Fb", "", "", true},
		{"bad query", "rtmp://host/live", "cam?token=%zz", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePublishURL(joinLikeLibrary(t, tt.tcURL, tt.key), "live")
			if tt.wantErr {
				if !errors.Is(err, ErrBadURL) {
					t.Fatalf("err = %v, want ErrBadURL", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.name != tt.wantName || got.token != tt.wantToken {
				t.Errorf("got %+v, want name %q token %q", got, tt.wantName, tt.wantToken)
			}
		})
	}
	if _, err := parsePublishURL(nil, "live"); !errors.Is(err, ErrBadURL) {
		t.Errorf("nil URL: err = %v", err)
	}
}

func FuzzParsePublishURL(f *testing.F) {
	f.Add("rtmp://h/live", "cam?token=x")
	f.Add("rtmp://h/live", "?token=x")
	f.Add("rtmp://h:1/a/b/c", "%%")
	f.Fuzz(func(t *testing.T, tcURL, key string) {
		u := joinLikeLibrary(t, tcURL, key)
		got, err := parsePublishURL(u, "live")
		if err == nil && !ValidName(got.name) {
			t.Fatalf("accepted invalid name %q", got.name)
		}
	})
}
