package webrtc

import (
	"errors"
	"testing"
	"time"

	"github.com/mutstream/mutstream/stream"
)

func TestPublishH264AndOpus(t *testing.T) {
	m := loadMedia(t)
	rec := &recorder{}
	hub := stream.NewHub(rec.start, testLogger(t))
	defer hub.Close()

	snd := newPublisher(t, nil)
	defer snd.close()
	rpc := newReceiverPC(t, nil)
	defer rpc.Close()
	kicked := make(chan struct{}, 1)
	pub := connect(t, snd, rpc, func() *Publisher {
		return NewPublisher(DefaultConfig(), hub, "cam", rpc, Want{Video: true, Audio: true},
			func() { kicked <- struct{}{} }, testLogger(t))
	})
	defer pub.Close()
	snd.sendMedia(m, false, 0)

	waitFor(t, "the publication", 20*time.Second, func() bool { pubs, _ := rec.snapshot(); return len(pubs) == 1 })
	pubs, _ := rec.snapshot()
	tracks := pubs[0].Tracks()
	if len(tracks) != 2 || tracks[0].Codec != stream.CodecH264 || tracks[1].Codec != stream.CodecOpus ||
		tracks[1].SampleRate != 48000 || tracks[1].Channels != 2 || pubs[0].Protocol() != "whip" {
		t.Fatalf("tracks %+v protocol %s", tracks, pubs[0].Protocol())
	}
	t.Logf("video track %dx%d", tracks[0].Width, tracks[0].Height)

	// Every frame sent arrives (no loss on loopback).
	waitFor(t, "the video", 30*time.Second, func() bool { return rec.count(stream.KindVideo) >= len(m.aus)-1 })

	// Keyframe requests from the pipeline reach the publisher as PLIs.
	time.Sleep(pliInterval + 100*time.Millisecond)
	before := snd.plis.Load()
	pubs[0].RequestKeyframe()
	waitFor(t, "a PLI at the publisher", 10*time.Second, func() bool { return snd.plis.Load() > before })

	waitFor(t, "the audio", 20*time.Second, func() bool { return rec.count(stream.KindAudio) >= len(m.opus)/2 })

	_, pkts := rec.snapshot()
	var video []*stream.Packet
	for _, p := range pkts {
		if p.Kind == stream.KindVideo {
			video = append(video, p)
		}
	}
	if len(video) > len(m.aus) {
		t.Fatalf("%d video packets for %d frames sent", len(video), len(m.aus))
	}
	first := video[0]
	types := map[byte]bool{}
	for _, n := range splitAnnexB(t, first.Data) {
		types[n[0]&0x1f] = true
	}
	if !first.Keyframe || !types[naluSPS] || !types[naluPPS] || !types[naluIDR] || first.PTS != 0 {
		t.Fatalf("first video packet: key=%v types %v pts %v", first.Keyframe, types, first.PTS)
	}
	sent := map[string]bool{}
	for _, au := range m.aus {
		sent[slicesKey(au.nalus)] = true
	}
	reordered := false
	for i, p := range video {
		if !sent[slicesKey(splitAnnexB(t, p.Data))] {
			t.Fatalf("video packet %d is not a frame that was sent", i)
		}
		if p.DTS != p.PTS {
			t.Fatalf("DTS %v != PTS %v", p.DTS, p.PTS)
		}
		if i > 0 && p.PTS < video[i-1].PTS {
			reordered = true
		}
	}
	if !reordered {
		t.Fatal("B-frame input gave monotonic PTS")
	}
	// The third frame in decode order is a B-frame shown 1/30 s after the IDR.
	if d := video[2].PTS; d < 30*time.Millisecond || d > 37*time.Millisecond {
		t.Errorf("B-frame PTS %v, want about 33ms", d)
	}
	for _, p := range pkts {
		if p.Kind == stream.KindAudio && (p.Duration != 20*time.Millisecond || p.PTS < 0 || len(p.Data) == 0) {
			t.Fatalf("audio packet %+v", p)
		}
	}

	// A takeover kicks the WHIP publisher.
	if _, err := hub.Publish("cam", "rtmp", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pub.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("publisher not done after a takeover")
	}
	if !errors.Is(pub.Err(), ErrKicked) {
		t.Fatalf("err %v, want ErrKicked", pub.Err())
	}
	select {
	case <-kicked:
	default:
		t.Fatal("kick not passed on")
	}
}

func TestStartTimeout(t *testing.T) {
	rec := &recorder{}
	hub := stream.NewHub(rec.start, testLogger(t))
	defer hub.Close()
	rpc := newReceiverPC(t, nil)
	defer rpc.Close()
	cfg := DefaultConfig()
	cfg.StartTimeout = 200 * time.Millisecond
	pub := NewPublisher(cfg, hub, "late", rpc, Want{Video: true}, nil, testLogger(t))
	select {
	case <-pub.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("no start timeout")
	}
	if !errors.Is(pub.Err(), ErrStartTimeout) {
		t.Fatalf("err %v", pub.Err())
	}
	pub.Close()
	pub.Close()
}

func TestNoVideoOffered(t *testing.T) {
	hub := stream.NewHub((&recorder{}).start, testLogger(t))
	defer hub.Close()
	rpc := newReceiverPC(t, nil)
	defer rpc.Close()
	pub := NewPublisher(DefaultConfig(), hub, "audio-only", rpc, Want{Audio: true}, nil, testLogger(t))
	<-pub.Done()
	if !errors.Is(pub.Err(), stream.ErrNoVideo) {
		t.Fatalf("err %v", pub.Err())
	}
}
