package webrtc

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// TestLossAndReorder runs WHIP over pion's vnet: 5% random loss and a delay
// towards the receiver, a delay on the way back, reordering at the sender,
// and a few video packets dropped on every retransmission too, so that
// frames must be given up on.
func TestLossAndReorder(t *testing.T) {
	m := loadMedia(t)
	const name = "lossy"
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.9.0.0/24", MinDelay: 5 * time.Millisecond, LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		t.Fatal(err)
	}
	sendNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.9.0.2"}})
	if err != nil {
		t.Fatal(err)
	}
	recvNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.9.0.3"}})
	if err != nil {
		t.Fatal(err)
	}
	// Towards the receiver: loss (switched on once connected), then delay.
	lossy, err := vnet.NewLossFilter(recvNet, 0, vnet.WithLossSeed(7))
	if err != nil {
		t.Fatal(err)
	}
	delayIn, err := vnet.NewDelayFilter(lossy, vnet.WithDelay(15*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer delayIn.Close()
	delayBack, err := vnet.NewDelayFilter(sendNet, vnet.WithDelay(15*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer delayBack.Close()
	if err := wan.AddNet(delayBack); err != nil {
		t.Fatal(err)
	}
	if err := wan.AddNet(delayIn); err != nil {
		t.Fatal(err)
	}
	// Black-hole a few video sequence numbers, retransmissions included:
	// the RTP header is in clear under SRTP.
	var videoSSRC atomic.Uint32
	var blackholed atomic.Int64
	wan.AddChunkFilter(func(c vnet.Chunk) bool {
		b := c.UserData()
		if len(b) < 12 || b[0]>>6 != 2 || binary.BigEndian.Uint32(b[8:12]) != videoSSRC.Load() {
			return true
		}
		if seq := binary.BigEndian.Uint16(b[2:4]); seq%100 == 50 {
			blackholed.Add(1)
			return false
		}
		return true
	})
	if err := wan.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = wan.Stop() }()

	rec := &recorder{}
	hub := stream.NewHub(rec.start, testLogger(t))
	defer hub.Close()
	snd := newPublisher(t, sendNet)
	defer snd.close()
	rpc := newReceiverPC(t, recvNet)
	defer rpc.Close()

	nacks0 := testutil.ToFloat64(metrics.WHIPNacksSent)
	recovered0 := testutil.ToFloat64(metrics.WHIPPacketsRecovered.WithLabelValues(name))
	lost0 := testutil.ToFloat64(metrics.WHIPPacketsLost.WithLabelValues(name))
	pliLoss0 := testutil.ToFloat64(metrics.WHIPPLIsSent.WithLabelValues("loss"))
	incomplete0 := testutil.ToFloat64(metrics.WHIPFramesDropped.WithLabelValues(dropIncomplete))
	awaitKey0 := testutil.ToFloat64(metrics.WHIPFramesDropped.WithLabelValues(dropAwaitKeyframe))

	pub := connect(t, snd, rpc, func() *Publisher {
		return NewPublisher(DefaultConfig(), hub, name, rpc, Want{Video: true, Audio: true}, nil, testLogger(t))
	})
	defer pub.Close()
	videoSSRC.Store(uint32(snd.videoSender.GetParameters().Encodings[0].SSRC))
	if err := lossy.SetLossRate(5, true); err != nil {
		t.Fatal(err)
	}
	snd.sendMedia(m, true, 40)

	waitFor(t, "two rounds of video", 60*time.Second, func() bool { return snd.videoSent.Load() >= int64(2*len(m.aus)) })
	snd.stopOnce.Do(func() { close(snd.stop) })
	time.Sleep(500 * time.Millisecond)

	sent := map[string]bool{}
	for _, au := range m.aus {
		sent[slicesKey(au.nalus)] = true
	}
	_, pkts := rec.snapshot()
	video, audio := 0, 0
	for i, p := range pkts {
		if p.Kind == stream.KindAudio {
			audio++
			continue
		}
		video++
		if !sent[slicesKey(splitAnnexB(t, p.Data))] {
			t.Fatalf("video packet %d (key %v, %d bytes) is not a whole frame that was sent", i, p.Keyframe, len(p.Data))
		}
	}
	nacks := testutil.ToFloat64(metrics.WHIPNacksSent) - nacks0
	recovered := testutil.ToFloat64(metrics.WHIPPacketsRecovered.WithLabelValues(name)) - recovered0
	lost := testutil.ToFloat64(metrics.WHIPPacketsLost.WithLabelValues(name)) - lost0
	pliLoss := testutil.ToFloat64(metrics.WHIPPLIsSent.WithLabelValues("loss")) - pliLoss0
	incomplete := testutil.ToFloat64(metrics.WHIPFramesDropped.WithLabelValues(dropIncomplete)) - incomplete0
	awaitKey := testutil.ToFloat64(metrics.WHIPFramesDropped.WithLabelValues(dropAwaitKeyframe)) - awaitKey0
	t.Logf("frames sent %d, video packets %d, audio %d; NACKs %v, recovered %v, lost %v, black-holed %d, PLIs for loss %v, incomplete frames %v, PLIs at the sender %d",
		snd.videoSent.Load(), video, audio, nacks, recovered, lost, blackholed.Load(), pliLoss, incomplete, snd.plis.Load())
	if video < int(snd.videoSent.Load())/3 {
		t.Errorf("only %d of %d frames arrived", video, snd.videoSent.Load())
	}
	if audio == 0 {
		t.Error("no audio")
	}
	if nacks == 0 || recovered == 0 {
		t.Errorf("NACKs %v, recovered %v: want both counted", nacks, recovered)
	}
	// A packet lost for good is counted; the frames it broke never reach
	// the stream (every video packet above is a whole frame that was
	// sent). How they are dropped (incomplete, awaiting the keyframe a
	// PLI asks for, or not at all when the loss took only parameter sets
	// or a keyframe came out in the same drain) depends on where the
	// black-holed numbers fall and on the machine's pace: logged above.
	if blackholed.Load() > 0 && lost == 0 {
		t.Errorf("packets black-holed but none counted lost (PLIs for loss %v, incomplete frames %v, frames awaiting a keyframe %v)", pliLoss, incomplete, awaitKey)
	}
}
