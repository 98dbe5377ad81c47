package rtmp

import (
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestCloseWithLiveConnections: Close ends a streaming publisher and a peer
// stuck in the handshake, returns, and leaves no goroutine behind.
func TestCloseWithLiveConnections(t *testing.T) {
	needFFmpeg(t)
	ignore := goleak.IgnoreCurrent()
	e := newEnv(t, Config{})
	p := startFFmpeg(t, e.url("live", "closing", goodToken), pubOpts{secs: 30, video: true, audio: "aac"})
	waitFor(t, 15*time.Second, "packets", func() bool {
		recs := e.recorders("closing")
		return len(recs) == 1 && recs[0].count() > 10
	})
	stuck, err := net.Dial("tcp", e.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	if _, err := stuck.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)

	done := make(chan error, 1)
	go func() { done <- e.srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	rec := e.recorders("closing")[0]
	select {
	case <-rec.pub.Done():
	default:
		t.Error("the publication is still open after Close")
	}
	if e.hub.Streams()[0].Live() {
		t.Error("the stream is still live after Close")
	}
	if _, err := p.wait(t, 10*time.Second); err == nil {
		t.Error("ffmpeg exited cleanly after the server closed")
	}
	e.hub.Close()
	goleak.VerifyNone(t, ignore)
}
