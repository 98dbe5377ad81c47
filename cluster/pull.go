package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
	"github.com/mutstream/mutstream/whepclient"
)

// pull is one rung in one codec pulled from the origin over WHEP: a
// viewer session on the origin pinned to that rung (?rung=) whose offer
// has that codec only (so a VP8 pull wakes the origin's VP8 twin of the
// rung), whose video goes into the edge's feed of the same name and codec
// and, while it holds the audio, whose audio goes into the edge's audio
// feed. Its control channel reports the demand of the edge's own viewers
// of the feed to the origin.
type pull struct {
	p     *edgePipeline
	feed  *stream.Feed
	codec stream.Codec
	log   *slog.Logger
	ctx   context.Context
	stop  context.CancelFunc
	done  chan struct{}
	keyCh chan struct{}
	// audio is set while this pull writes the stream's audio.
	audio atomic.Bool
	// noRung is set when the origin refused the pull for want of the
	// rung: its ladder changed.
	noRung atomic.Bool
	// noCodec is set when the origin refused the pull's codec (422), or
	// sent another: a new ladder would not help; the pull is retried later.
	noCodec atomic.Bool
	// started is set once the origin answered and media may flow.
	started atomic.Bool
	// retryIn is how long the origin asked the edge to wait before the
	// next pull (a 429 or 503 and its Retry-After), 0 when it did not.
	retryIn atomic.Int64

	mu      sync.Mutex
	dc      *webrtc.DataChannel
	pc      *webrtc.PeerConnection
	videoSS uint32
}

// pullMime is the MIME type a pull of each video codec offers.
var pullMime = map[stream.Codec]string{stream.CodecH264: webrtc.MimeTypeH264, stream.CodecVP8: webrtc.MimeTypeVP8}

// feedCodec is the video codec of a feed of the ladder (empty: H.264).
func feedCodec(info stream.FeedInfo) stream.Codec {
	if info.Codec == "" {
		return stream.CodecH264
	}
	return info.Codec
}

func newPullAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICETimeouts(2*time.Second, 4*time.Second, 500*time.Millisecond)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

func (p *edgePipeline) startPull(f *stream.Feed) *pull {
	ctx, cancel := context.WithCancel(p.ctx)
	c := feedCodec(f.Info())
	pl := &pull{p: p, feed: f, codec: c, ctx: ctx, stop: cancel, done: make(chan struct{}), keyCh: make(chan struct{}, 1),
		log: p.log.With("rung", f.Info().Name, "codec", c)}
	go pl.run()
	return pl
}

// ended reports whether the pull has stopped.
func (pl *pull) ended() bool {
	select {
	case <-pl.done:
		return true
	default:
		return false
	}
}

// requestKey asks the origin for a keyframe of the rung (a PLI).
func (pl *pull) requestKey() {
	select {
	case pl.keyCh <- struct{}{}:
	default:
	}
}

// sendDemand tells the origin the lowest bitrate the edge's viewers of
// the rung carry (0: none reported), as a viewer's link estimate.
func (pl *pull) sendDemand(bps int) {
	pl.mu.Lock()
	dc := pl.dc
	pl.mu.Unlock()
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
		return
	}
	b, _ := json.Marshal(map[string]any{"type": "demand", "estimate": bps})
	_ = dc.SendText(string(b))
}

func (pl *pull) run() {
	defer close(pl.done)
	err := pl.session()
	switch {
	case err == nil || pl.ctx.Err() != nil:
	case pl.started.Load():
		pl.log.Info("edge pull ended", "err", err)
	default:
		// Retried every half second while the rung is watched: the
		// counter says how often, the log only at debug level.
		pl.log.Debug("edge pull refused or failed", "err", err)
	}
}

func (pl *pull) session() error {
	p := pl.p
	name := p.pub.Stream().Name()
	rung := pl.feed.Info().Name
	pc, err := p.n.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		metrics.EdgePullStarts.WithLabelValues("failed").Inc()
		return fmt.Errorf("new peer connection: %w", err)
	}
	var wg sync.WaitGroup
	defer func() {
		_ = pc.Close()
		wg.Wait()
	}()
	mime, ok := pullMime[pl.codec]
	if !ok {
		metrics.EdgePullStarts.WithLabelValues("failed").Inc()
		return fmt.Errorf("no pull for video codec %q", pl.codec)
	}
	if err := whepclient.Prepare(pc, whepclient.Options{Audio: true, VideoCodec: mime}); err != nil {
		metrics.EdgePullStarts.WithLabelValues("failed").Inc()
		return err
	}
	dc, err := pc.CreateDataChannel("control", nil)
	if err != nil {
		return err
	}
	failed := make(chan struct{})
	var failOnce sync.Once
	var failWhy atomic.Value
	fail := func(why string) {
		failOnce.Do(func() {
			failWhy.Store(why)
			close(failed)
		})
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateDisconnected {
			fail("connection to the origin lost")
		}
	})
	var tracksMu sync.Mutex
	closing := false
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		tracksMu.Lock()
		if closing {
			tracksMu.Unlock()
			return
		}
		wg.Add(1)
		tracksMu.Unlock()
		defer wg.Done()
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			if got := tr.Codec().MimeType; !strings.EqualFold(got, mime) {
				// Never another codec's frames into this feed.
				metrics.EdgeFramesDropped.WithLabelValues("wrong_codec").Inc()
				pl.noCodec.Store(true)
				fail(fmt.Sprintf("the origin sends %s to a %s pull", got, mime))
				return
			}
			pl.mu.Lock()
			pl.videoSS = uint32(tr.SSRC())
			pl.mu.Unlock()
			pl.readVideo(tr)
			return
		}
		pl.readAudio(tr)
	})
	defer func() {
		tracksMu.Lock()
		closing = true
		tracksMu.Unlock()
	}()
	endpoint := fmt.Sprintf("%s/whep/%s?rung=%s", p.origin.URL, url.PathEscape(name), url.QueryEscape(rung))
	dctx, cancel := context.WithTimeout(pl.ctx, 10*time.Second)
	sess, err := whepclient.Offer(dctx, endpoint, pc, whepclient.Options{Token: p.n.cfg.Token, Client: p.n.http})
	cancel()
	if err != nil {
		var re *whepclient.RefusedError
		if errors.As(err, &re) {
			metrics.EdgePullStarts.WithLabelValues("refused").Inc()
			pl.noRung.Store(re.Status == http.StatusBadRequest)
			pl.noCodec.Store(re.Status == http.StatusUnprocessableEntity)
			pl.retryIn.Store(int64(retryDelay(re)))
		} else {
			metrics.EdgePullStarts.WithLabelValues("failed").Inc()
		}
		return err
	}
	metrics.EdgePullStarts.WithLabelValues("ok").Inc()
	pl.started.Store(true)
	pl.mu.Lock()
	pl.dc, pl.pc = dc, pc
	pl.mu.Unlock()
	pulled := countPull(name, pl.codec)
	pl.log.Info("edge pull started", "origin", p.origin.Node)
	defer func() {
		pulled()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = sess.Delete(ctx)
		cancel()
		pl.log.Info("edge pull stopped")
	}()
	lastPLI := time.Time{}
	for {
		select {
		case <-pl.ctx.Done():
			return nil
		case <-failed:
			return errors.New(failWhy.Load().(string))
		case <-pl.keyCh:
			if time.Since(lastPLI) < 200*time.Millisecond {
				continue
			}
			lastPLI = time.Now()
			pl.mu.Lock()
			ss := pl.videoSS
			pl.mu.Unlock()
			if ss != 0 {
				_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ss}})
			}
		}
	}
}

// maxRetryAfter bounds the wait an origin's Retry-After asks for.
const maxRetryAfter = 30 * time.Second

// retryDelay is the wait before pulling again that a refusal asks for:
// for a 429 or a 503, its Retry-After (bounded) and at least pullRetry;
// 0 (the pipeline's own delay) for another status.
func retryDelay(re *whepclient.RefusedError) time.Duration {
	if re.Status != http.StatusTooManyRequests && re.Status != http.StatusServiceUnavailable {
		return 0
	}
	return min(max(pullRetry, re.RetryAfter), maxRetryAfter)
}

func (pl *pull) readVideo(tr *webrtc.TrackRemote) {
	asm := newFrameAssembler(newDepacketizer(pl.codec))
	clk := rtpClock{rate: int64(tr.Codec().ClockRate)}
	if clk.rate <= 0 {
		clk.rate = 90000
	}
	epoch := pl.p.epoch
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		frame, ts, key, askKey := asm.push(pkt)
		if askKey {
			pl.requestKey()
		}
		if frame == nil {
			continue
		}
		pts := clk.pts(ts, time.Since(epoch))
		pl.feed.Write(&stream.Packet{Kind: stream.KindVideo, PTS: pts, DTS: pts, Keyframe: key, Data: frame})
	}
}

func (pl *pull) readAudio(tr *webrtc.TrackRemote) {
	clk := rtpClock{rate: int64(tr.Codec().ClockRate)}
	if clk.rate <= 0 {
		clk.rate = 48000
	}
	epoch := pl.p.epoch
	owned := false
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if !pl.audio.Load() {
			owned = false
			continue
		}
		if !owned {
			clk = rtpClock{rate: clk.rate} // placed anew when the audio comes to this pull
			owned = true
		}
		if len(pkt.Payload) == 0 {
			continue
		}
		pts := clk.pts(pkt.Timestamp, time.Since(epoch))
		data := append([]byte(nil), pkt.Payload...)
		pl.p.audio.Write(&stream.Packet{Kind: stream.KindAudio, PTS: pts, DTS: pts, Duration: 20 * time.Millisecond, Data: data})
	}
}
