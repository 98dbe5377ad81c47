package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mutstream/mutstream/stream"
)

// liveHub returns a hub with one live stream, "cam".
func liveHub(t *testing.T) *stream.Hub {
	t.Helper()
	hub := stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
		pub.Stream().SetLadder([]stream.FeedInfo{{Name: "360p", Codec: stream.CodecH264, Width: 640, Height: 360, FPS: 30, Bitrate: 800000}},
			stream.FeedInfo{Name: "audio", Codec: stream.CodecOpus})
		return nopPipeline{}, nil
	}, nil)
	t.Cleanup(func() { hub.Close() })
	if _, err := hub.Publish("cam", "rtmp", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264, Width: 640, Height: 360, FrameRate: 30}}, nil); err != nil {
		t.Fatal(err)
	}
	return hub
}

// TestViewerAuth checks every read of stream state with a play check set:
// no token and a wrong token get 401 with a Bearer challenge, the viewer
// token (header, or ?token= as EventSource sends it) and the admin token
// get through; the play check sees the stream name ("" on list endpoints);
// pages and /healthz load without a token; without a play check all is open.
func TestViewerAuth(t *testing.T) {
	hub := liveHub(t)
	done := make(chan struct{})
	close(done) // server-sent events end at once
	var asked []string
	check := StaticPlayAuth("viewer-tok")
	opts := Options{
		AdminToken:   "admin-tok",
		Mutations:    &fakeMutations{},
		Capabilities: func() any { return map[string]string{"gpu": "none"} },
		Viewers:      func(string) any { return []string{} },
		Done:         done,
		PlayAuth: func(r *http.Request, name string) error {
			asked = append(asked, name)
			return check(r, name)
		},
	}
	h, err := NewRouter(hub, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	open, err := NewRouter(hub, nil, Options{Mutations: &fakeMutations{}, Capabilities: opts.Capabilities, Viewers: opts.Viewers, Done: done})
	if err != nil {
		t.Fatal(err)
	}
	guarded := map[string]string{ // path -> stream the check must see
		"/api/v1/streams":               "",
		"/api/v1/streams/cam":           "cam",
		"/api/v1/streams/cam/events":    "cam",
		"/api/v1/streams/cam/viewers":   "cam",
		"/api/v1/streams/cam/mutations": "cam",
		"/api/v1/capabilities":          "",
		"/api/v1/streams/nope":          "nope",
	}
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	for path, name := range guarded {
		for _, tc := range []struct {
			what   string
			target string
			header http.Header
			ok     bool
		}{
			{"no token", path, nil, false},
			{"a wrong token", path, bearer("nope"), false},
			{"a basic auth header", path, http.Header{"Authorization": {"Basic dmlld2VyLXRvaw=="}}, false},
			{"a wrong query token", path + "?token=nope", nil, false},
			{"the viewer token", path, bearer("viewer-tok"), true},
			{"the viewer token in the query", path + "?token=viewer-tok", nil, true},
			{"the admin token", path, bearer("admin-tok"), true},
		} {
			asked = nil
			w := serve(h, "GET", tc.target, "127.0.0.1:1", tc.header)
			if !tc.ok {
				if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") ||
					strings.Contains(w.Body.String(), `"name":"cam"`) {
					t.Errorf("GET %s with %s: %d %q %.100s; want 401 with a Bearer challenge and no data",
						tc.target, tc.what, w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
				}
				if tc.header != nil && !strings.Contains(w.Header().Get("WWW-Authenticate"), "invalid_token") && strings.HasPrefix(tc.header.Get("Authorization"), "Bearer") {
					t.Errorf("GET %s with %s: challenge %q, want error=\"invalid_token\"", tc.target, tc.what, w.Header().Get("WWW-Authenticate"))
				}
				if len(asked) != 1 || asked[0] != name {
					t.Errorf("GET %s: the play check saw streams %q, want [%q]", tc.target, asked, name)
				}
				continue
			}
			if w.Code == http.StatusUnauthorized {
				t.Errorf("GET %s with %s: 401, want it let through", tc.target, tc.what)
			}
			if want := http.StatusOK; name == "nope" {
				if w.Code != http.StatusNotFound {
					t.Errorf("GET %s with %s: %d, want 404", tc.target, tc.what, w.Code)
				}
			} else if w.Code != want {
				t.Errorf("GET %s with %s: %d, want %d (%.200s)", tc.target, tc.what, w.Code, want, w.Body.String())
			}
		}
		if w := serve(open, "GET", path, "127.0.0.1:1", nil); w.Code == http.StatusUnauthorized {
			t.Errorf("GET %s with no play check: 401, want it open", path)
		}
	}
	for _, path := range []string{"/", "/watch/cam", "/dashboard", "/publish/cam", "/assets/watch.js", "/healthz", "/metrics"} {
		if w := serve(h, "GET", path, "127.0.0.1:1", nil); w.Code != http.StatusOK {
			t.Errorf("GET %s without a token: %d, want 200 (pages load, then send the token)", path, w.Code)
		}
	}
	// A change still needs the admin token, whatever the viewer token says.
	w := serve(h, "PUT", "/api/v1/streams/cam/mutations", "127.0.0.1:1", bearer("viewer-tok"))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("PUT mutations with the viewer token: %d, want 401", w.Code)
	}
}

// TestMetricsToken checks /metrics with its own token: 401 without it or
// with another token (the viewer's, the admin's), 200 with it.
func TestMetricsToken(t *testing.T) {
	h, err := NewRouter(stream.NewHub(nil, nil), nil, Options{MetricsToken: "prom-tok", AdminToken: "admin-tok", PlayAuth: StaticPlayAuth("viewer-tok")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer nope", http.StatusUnauthorized},
		{"Bearer viewer-tok", http.StatusUnauthorized},
		{"Bearer admin-tok", http.StatusUnauthorized},
		{"Bearer prom-tok2", http.StatusUnauthorized},
		{"Basic prom-tok", http.StatusUnauthorized},
		{"Bearer prom-tok", http.StatusOK},
		{"bearer  prom-tok ", http.StatusOK},
	} {
		h2 := http.Header{}
		if tc.auth != "" {
			h2.Set("Authorization", tc.auth)
		}
		w := serve(h, "GET", "/metrics", "127.0.0.1:1", h2)
		if w.Code != tc.want {
			t.Errorf("GET /metrics with %q: %d, want %d", tc.auth, w.Code, tc.want)
		}
		if tc.want == http.StatusOK && !strings.Contains(w.Body.String(), "mediad_") {
			t.Errorf("GET /metrics with its token: no mediad series in %.200s", w.Body.String())
		}
		if tc.want == http.StatusUnauthorized && (strings.Contains(w.Body.String(), "mediad_") || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer")) {
			t.Errorf("GET /metrics with %q: %q %.200s; want a Bearer challenge and no series", tc.auth, w.Header().Get("WWW-Authenticate"), w.Body.String())
		}
	}
	if w := serve(h, "GET", "/metrics?token=prom-tok", "127.0.0.1:1", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /metrics?token=: %d, want 401 (a bearer header only)", w.Code)
	}
}
