package stream

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/metrics"
)

// waitFreed waits until the hub no longer knows name.
func waitFreed(t *testing.T, h *Hub, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := h.Lookup(name); errors.Is(err, ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %q still known", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEndedStreamsAreFreed(t *testing.T) {
	var closed atomic.Int32
	h := newTestHub(&closed)
	h.SetGrace(0)
	defer h.Close()
	for i := 0; i < 50; i++ {
		name := fmt.Sprintf("free%d", i)
		pub, err := h.Publish(name, "test", videoTrack, nil)
		if err != nil {
			t.Fatal(err)
		}
		metrics.EncodedFrames.WithLabelValues(name, "360p", "h264").Inc()
		metrics.DecodeErrors.WithLabelValues(name).Inc()
		pub.Close()
		waitFreed(t, h, name)
	}
	if n := h.Len(); n != 0 {
		t.Fatalf("hub holds %d streams after they all ended", n)
	}
	if n := testutil.CollectAndCount(metrics.EncodedFrames) + testutil.CollectAndCount(metrics.DecodeErrors); n != 0 {
		t.Fatalf("%d series left of ended streams", n)
	}
}

func TestStreamHeldWhileWatched(t *testing.T) {
	var closed atomic.Int32
	h := newTestHub(&closed)
	h.SetGrace(0)
	defer h.Close()
	pub, err := h.Publish("cam", "test", videoTrack, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := h.Lookup("cam")
	leave := st.AddViewer()
	_, unsubscribe := st.SubscribeEvents(1)
	ended := st.Ended()
	pub.Close()
	<-ended
	// Ended, but a viewer and a subscriber still hold it.
	if _, err := h.Lookup("cam"); !errors.Is(err, ErrNotLive) {
		t.Fatalf("lookup of a held ended stream: %v", err)
	}
	leave()
	if _, err := h.Lookup("cam"); !errors.Is(err, ErrNotLive) {
		t.Fatalf("lookup of a stream held by a subscriber: %v", err)
	}
	unsubscribe()
	waitFreed(t, h, "cam")
}

func TestFailedPublishIsFreed(t *testing.T) {
	h := NewHub(func(*Publication) (Pipeline, error) { return nil, errors.New("no pipeline") }, nil)
	h.SetGrace(0)
	defer h.Close()
	if _, err := h.Publish("bad", "test", videoTrack, nil); err == nil {
		t.Fatal("publish did not fail")
	}
	waitFreed(t, h, "bad")
}

func TestDrainEndsStreamsAndRefusesPublishers(t *testing.T) {
	var closed atomic.Int32
	h := newTestHub(&closed)
	kicked := make(chan struct{})
	if _, err := h.Publish("cam", "test", videoTrack, func() { close(kicked) }); err != nil {
		t.Fatal(err)
	}
	st, _ := h.Lookup("cam")
	leave := st.AddViewer()
	defer leave()
	ended := st.Ended()
	h.Drain()
	<-kicked
	select {
	case <-ended:
	default:
		t.Fatal("drain did not end the stream at once (grace is 5 s)")
	}
	if _, err := h.Publish("new", "test", videoTrack, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("publish while draining: %v", err)
	}
}
