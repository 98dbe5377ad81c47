package sender

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/stream"
)

// seqWriter keeps the sequence number and timestamp of every packet a
// bound track writes, and fails every write once closed.
type seqWriter struct {
	mu     sync.Mutex
	seqs   []uint16
	tss    []uint32
	closed bool
}

func (w *seqWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, errClosedPipe
	}
	w.seqs, w.tss = append(w.seqs, h.SequenceNumber), append(w.tss, h.Timestamp)
	return len(payload), nil
}

func (w *seqWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *seqWriter) sent() ([]uint16, []uint32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]uint16(nil), w.seqs...), append([]uint32(nil), w.tss...)
}

// unit is a one-packet H.264 access unit.
func unit(pts time.Duration, key bool) *stream.Packet {
	nal := byte(0x41)
	if key {
		nal = 0x65
	}
	return &stream.Packet{Kind: stream.KindVideo, PTS: pts, DTS: pts, Keyframe: key, Data: []byte{0, 0, 0, 1, nal, 1, 2, 3}}
}

// A viewer with sinks (one that sends directly) has its video sent in the
// writer's goroutine while its loop is idle and by its loop while busy:
// either way every packet goes out once, in order, across a rung switch;
// a write that finds the connection closed ends the loop.
func TestLoopSinksKeepOrder(t *testing.T) {
	st := ladderStream(t, 30)
	hi, _ := st.Rung("hi")
	lo, _ := st.Rung("lo")
	teardowns := 0
	v := NewViewer(Options{ID: "0123456789abcdef", Stream: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Ctx: context.Background(), Queue: 4096, Config: DefaultConfig(), Teardown: func() { teardowns++ }, Manual: true,
		InitialBitrate: 20_000_000}) // never audio only: every frame is sent
	video, err := NewBoundTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}, "video", "test")
	if err != nil {
		t.Fatal(err)
	}
	w := &seqWriter{}
	video.b.Store(&trackBinding{w: w, ssrc: 1, pt: 102})
	audio, _ := boundToSink(t, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, 111)
	v.direct = &directOut{conn: NewPort(nil), in: &directIn{}} // sinks on; nothing is written through it
	v.video, v.audio = video, audio
	v.Connected()
	done := make(chan struct{})
	go func() {
		defer close(done)
		v.run(hi)
	}()
	waitReaders := func(f *stream.Feed) {
		deadline := time.Now().Add(10 * time.Second)
		for f.Readers() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("nobody reads %s", f.Info().Name)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitReaders(hi)
	pts := time.Duration(0)
	step := func() time.Duration { pts += 33 * time.Millisecond; return pts }
	waitSent := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			seqs, _ := w.sent()
			if len(seqs) >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d packets sent, want %d", len(seqs), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	hi.Write(unit(step(), true))
	for i := range 300 {
		if i%10 == 0 {
			v.rungReq <- "hi" // the loop is busy now and then: its queue takes over
		}
		hi.Write(unit(step(), false))
	}
	waitSent(301)
	v.rungReq <- "lo"
	waitReaders(lo)
	for range 10 {
		lo.Write(unit(step(), false)) // before lo's keyframe: not sent
	}
	lo.Write(unit(step(), true))
	deadline := time.Now().Add(10 * time.Second)
	for hi.Readers() != 0 { // the loop switches at lo's keyframe
		if time.Now().After(deadline) {
			t.Fatal("never switched to lo")
		}
		time.Sleep(time.Millisecond)
	}
	for range 300 {
		p := step()
		hi.Write(unit(p, false)) // switched away from: nobody reads it
		lo.Write(unit(p, false))
	}
	waitSent(602)
	seqs, tss := w.sent()
	if len(seqs) != 602 {
		t.Fatalf("%d packets sent, want 602", len(seqs))
	}
	// A frame every 33 ms, 2970 timestamp units; ten frames of lo were
	// not sent before its keyframe. A frame out of order would show as a
	// rebased timestamp.
	for i := 1; i < len(seqs); i++ {
		want := uint32(2970)
		if i == 301 {
			want = 11 * 2970
		}
		if seqs[i] != seqs[i-1]+1 || tss[i]-tss[i-1] != want {
			t.Fatalf("packet %d: sequence %d after %d, timestamp step %d, want %d", i, seqs[i], seqs[i-1], tss[i]-tss[i-1], want)
		}
	}
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	for {
		lo.Write(unit(step(), false))
		select {
		case <-done:
			if teardowns != 1 {
				t.Fatalf("%d teardowns, want 1", teardowns)
			}
			return
		case <-time.After(time.Millisecond):
		}
	}
}
