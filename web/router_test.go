package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mutstream/mutstream/stream"
)

type nopPipeline struct{}

func (nopPipeline) Close() error { return nil }

func TestRoutes(t *testing.T) {
	hub := stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
		pub.Stream().SetLadder([]stream.FeedInfo{{Name: "360p", Codec: stream.CodecH264, Width: 640, Height: 360, FPS: 30, Bitrate: 800000}},
			stream.FeedInfo{Name: "audio", Codec: stream.CodecOpus})
		return nopPipeline{}, nil
	}, nil)
	defer hub.Close()
	if _, err := hub.Publish("cam", "rtmp", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264, Width: 640, Height: 360, FrameRate: 30}}, nil); err != nil {
		t.Fatal(err)
	}
	h, err := NewRouter(hub, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (int, string, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	for _, tc := range []struct {
		path, ctype, want string
		status            int
	}{
		{"/", "text/html", "/assets/index.js", 200},
		{"/watch/cam", "text/html", "/assets/watch.js", 200},
		{"/assets/whep.js", "javascript", "RTCPeerConnection", 200},
		{"/assets/style.css", "text/css", "", 200},
		{"/healthz", "application/json", `"ok"`, 200},
		{"/metrics", "text/plain", "mediad_publishers{protocol=\"rtmp\"} 1", 200},
		{"/api/v1/streams", "application/json", `"name":"cam"`, 200},
		{"/api/v1/streams/cam", "application/json", `"rungs":[{"name":"360p"`, 200},
		{"/api/v1/streams/nope", "application/json", "no stream named nope", 404},
		{"/nothing/here", "application/json", "not found", 404},
	} {
		code, ctype, body := get(tc.path)
		if code != tc.status || !strings.Contains(ctype, tc.ctype) || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d %q, want %d %q containing %q; body %.200s", tc.path, code, ctype, tc.status, tc.ctype, tc.want, body)
		}
	}
	_, _, body := get("/api/v1/streams/cam")
	var in stream.Info
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	if !in.Live || in.Source == nil || in.Source.Width != 640 || in.Source.Codec != "h264" || in.Protocol != "rtmp" {
		t.Fatalf("stream info %+v", in)
	}
}
