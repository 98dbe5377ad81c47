package rtmp

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/message"
	"go.uber.org/goleak"
)

// TestDrainTellsPublishers: Drain stops accepting, ffmpeg is told the
// server is shutting down and exits saying so, a peer still in its
// handshake is closed, the publication ends, and Drain returns within its
// context and leaves no goroutine.
func TestDrainTellsPublishers(t *testing.T) {
	needFFmpeg(t)
	ignore := goleak.IgnoreCurrent()
	e := newEnv(t, Config{})
	addr := e.srv.Addr().String()
	p := startFFmpeg(t, e.url("live", "draining", goodToken), pubOpts{secs: 60, video: true, audio: "aac"})
	waitFor(t, 15*time.Second, "packets", func() bool {
		recs := e.recorders("draining")
		return len(recs) == 1 && recs[0].count() > 10
	})
	setup := dialFrom(t, "127.0.0.1", addr)
	waitFor(t, 5*time.Second, "the second connection tracked", func() bool {
		n, _ := e.tracked("")
		return n == 2
	})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.srv.Drain(ctx); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	out, err := p.wait(t, 10*time.Second)
	if err == nil {
		t.Error("ffmpeg exited cleanly; want it to stop on the server's status")
	}
	t.Logf("ffmpeg: %s", strings.TrimSpace(out))
	if !strings.Contains(out, shutdownText) {
		t.Errorf("ffmpeg did not report the server's shutdown status:\n%s", out)
	}
	closedByServer(t, setup, 5*time.Second, "a connection in its handshake")
	rec := e.recorders("draining")[0]
	select {
	case <-rec.pub.Done():
	default:
		t.Error("the publication is still open after Drain")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("the listener still accepts after Drain")
	}
	e.hub.Close()
	goleak.VerifyNone(t, ignore)
}

// TestDrainStatusMessages: an accepted publisher reads
// NetStream.Unpublish.Success on its stream, then NetConnection.Connect.Closed.
func TestDrainStatusMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	c, err := publishFrom(t, "127.0.0.1", e.url("live", "quiet", goodToken))
	if err != nil {
		t.Fatal(err)
	}
	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		drained <- e.srv.Drain(ctx)
	}()
	_ = c.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
	var codes []string
	for len(codes) < 2 {
		msg, err := c.Read()
		if err != nil {
			t.Fatalf("read after %v: %v", codes, err)
		}
		cmd, ok := msg.(*message.CommandAMF0)
		if !ok || cmd.Name != "onStatus" || len(cmd.Arguments) < 2 {
			continue
		}
		codes = append(codes, statusCode(cmd))
	}
	if codes[0] != codeUnpublishSuccess || codes[1] != codeConnectClosed {
		t.Errorf("status codes %v, want %s then %s", codes, codeUnpublishSuccess, codeConnectClosed)
	}
	c.Close()
	if err := <-drained; err != nil {
		t.Errorf("Drain: %v", err)
	}
}

func statusCode(cmd *message.CommandAMF0) string {
	obj, _ := cmd.Arguments[1].(amf0.Object)
	code, _ := obj.GetString("code")
	return code
}

// TestDrainDeadline: when the context ends first, Drain closes everything
// and says so.
func TestDrainDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	if _, err := publishFrom(t, "127.0.0.1", e.url("live", "stubborn", goodToken)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := e.srv.Drain(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Drain with an ended context = %v, want context.Canceled", err)
	}
	if n, _ := e.tracked(""); n != 0 {
		t.Errorf("%d connections left after Drain", n)
	}
}
