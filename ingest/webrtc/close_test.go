package webrtc

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/stream"
)

// ownGoroutines returns the stacks of goroutines running this package's code.
func ownGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "ingest/webrtc.(*Publisher)") {
			out = append(out, g)
		}
	}
	return out
}

func TestCloseWithLiveTracks(t *testing.T) {
	m := loadMedia(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	rec := &recorder{}
	hub := stream.NewHub(rec.start, testLogger(t))
	snd := newPublisher(t, nil)
	rpc := newReceiverPC(t, nil)
	pub := connect(t, snd, rpc, func() *Publisher {
		return NewPublisher(DefaultConfig(), hub, "closing", rpc, Want{Video: true, Audio: true}, nil, testLogger(t))
	})
	snd.sendMedia(m, true, 0)
	waitFor(t, "video", 20*time.Second, func() bool { return rec.count(stream.KindVideo) > 10 })

	closed := make(chan struct{})
	go func() {
		pub.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while the tracks were live")
	}
	if !errors.Is(pub.Err(), ErrClosed) {
		t.Fatalf("err %v", pub.Err())
	}
	if st, err := hub.Lookup("closing"); !errors.Is(err, stream.ErrNotLive) || st.Live() {
		t.Fatalf("stream still live after Close: %v", err)
	}
	// Nothing of ours runs any more, with the PeerConnections still open.
	if g := ownGoroutines(); len(g) > 0 {
		t.Fatalf("%d goroutines left:\n%s", len(g), strings.Join(g, "\n\n"))
	}
	pub.Close() // idempotent

	snd.close()
	if err := rpc.Close(); err != nil {
		t.Fatal(err)
	}
	hub.Close()
}
