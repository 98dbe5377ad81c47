package rtmp

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// TestTakeover: a second publisher with the right token, in OBS's form
// (Server rtmp://host/live, Stream Key NAME?token=T), takes the name over;
// the first is kicked and packets keep coming.
func TestTakeover(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	e := newEnv(t, Config{})
	first := startFFmpeg(t, e.url("live", "cam", goodToken), pubOpts{secs: 15, video: true, audio: "aac"})
	waitFor(t, 15*time.Second, "the first publisher's packets", func() bool {
		recs := e.recorders("cam")
		return len(recs) == 1 && recs[0].count() > 20
	})
	old := e.recorders("cam")[0]

	// ffmpeg's -rtmp_app and -rtmp_playpath send what OBS sends: tcUrl
	// rtmp://host/live and the stream key as the publish name.
	second := startFFmpeg(t, fmt.Sprintf("rtmp://%s", e.srv.Addr()), pubOpts{secs: 4, video: true, audio: "aac",
		extra: []string{"-rtmp_app", "live", "-rtmp_playpath", "cam?token=" + goodToken}})
	waitFor(t, 15*time.Second, "the second publication", func() bool { return len(e.recorders("cam")) == 2 })
	select {
	case <-old.pub.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first publication did not end on takeover")
	}
	if out, err := first.wait(t, 10*time.Second); err == nil {
		t.Errorf("first publisher exited cleanly, want kicked\n%s", out)
	}
	cur := e.recorders("cam")[1]
	waitFor(t, 10*time.Second, "packets from the second publisher", func() bool { return cur.count() > 30 })
	if out, err := second.wait(t, 15*time.Second); err != nil {
		t.Errorf("second publisher: %v\n%s", err, out)
	}
	if !cur.snapshot()[0].Keyframe {
		t.Errorf("the new publication does not start with a keyframe")
	}
}

// TestReadTimeout: a publisher that stops sending (ffmpeg paused with
// SIGSTOP) is ended after ReadTimeout and counted.
func TestReadTimeout(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	e := newEnv(t, Config{ReadTimeout: time.Second})
	p := startFFmpeg(t, e.url("live", "stall", goodToken), pubOpts{secs: 20, video: true})
	waitFor(t, 15*time.Second, "packets", func() bool {
		recs := e.recorders("stall")
		return len(recs) == 1 && recs[0].count() > 10
	})
	before := rejected(reasonTimeout)
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP: %v", err)
	}
	defer p.cmd.Process.Signal(syscall.SIGCONT) //nolint:errcheck // best effort; the process is killed at cleanup
	rec := e.recorders("stall")[0]
	select {
	case <-rec.pub.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a silent publisher was not ended")
	}
	waitFor(t, 2*time.Second, "the timeout counter", func() bool { return rejected(reasonTimeout) > before })
}
