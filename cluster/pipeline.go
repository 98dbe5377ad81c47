package cluster

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/mutstream/mutstream/stream"
)

// edgePipeline is the Pipeline of an edge's publication: instead of a
// transcode it keeps one pull per feed (rung and codec) that a local
// viewer watches, and none for a feed nobody watches (after pull_linger):
// a VP8 viewer here makes a VP8 pull, which wakes the origin's VP8 twin
// of the rung.
type edgePipeline struct {
	n      *Node
	pub    *stream.Publication
	origin Origin
	epoch  time.Time
	log    *slog.Logger
	rungs  []*stream.Feed
	audio  *stream.Feed
	wake   chan struct{}
	// failed is signalled when a pull ends on its own: the edge stream
	// looks its origin up again at once, and fetches the ladder again
	// when the origin no longer has the rung.
	failed func(noRung bool)
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// pullPollEvery is how often the pipeline looks at its feeds' readers.
const pullPollEvery = 200 * time.Millisecond

// pullRetry is how soon a watched feed whose pull ended is pulled again;
// pullRetryNoCodec when the origin refused the pull's codec.
const (
	pullRetry        = 500 * time.Millisecond
	pullRetryNoCodec = 5 * time.Second
)

func newEdgePipeline(n *Node, pub *stream.Publication, origin Origin, ladder []stream.FeedInfo, epoch time.Time, failed func(noRung bool)) *edgePipeline {
	ctx, cancel := context.WithCancel(context.Background())
	p := &edgePipeline{n: n, pub: pub, origin: origin, epoch: epoch, failed: failed,
		log:  pub.Stream().Logger().With("component", "edge", "origin", origin.Node),
		wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	p.rungs, p.audio = pub.Stream().SetLadder(ladder, stream.FeedInfo{Name: "audio", Codec: stream.CodecOpus})
	go p.run()
	return p
}

// Close stops every pull and waits for them.
func (p *edgePipeline) Close() error {
	p.cancel()
	<-p.done
	return nil
}

func (p *edgePipeline) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *edgePipeline) run() {
	defer close(p.done)
	pulls := map[*stream.Feed]*pull{}
	wanted := map[*stream.Feed]time.Time{}
	retryAt := map[*stream.Feed]time.Time{}
	defer func() {
		for _, pl := range pulls {
			pl.stop()
		}
		for _, pl := range pulls {
			<-pl.done
		}
		for _, f := range p.rungs {
			f.SetKeyframeRequester(nil)
		}
	}()
	// A viewer's arrival asks its feed for a keyframe: that starts the
	// pull at once, or asks the origin for an IDR through it.
	keyWanted := make([]atomic.Bool, len(p.rungs))
	for i, f := range p.rungs {
		f.SetKeyframeRequester(func() {
			keyWanted[i].Store(true)
			p.poke()
		})
	}
	tick := time.NewTicker(pullPollEvery)
	defer tick.Stop()
	var audioFrom *pull
	lastDemand := time.Time{}
	for {
		now := time.Now()
		for i, f := range p.rungs {
			pl := pulls[f]
			if pl != nil && pl.ended() {
				delete(pulls, f)
				retryAt[f] = now.Add(max(pullRetry, time.Duration(pl.retryIn.Load())))
				if pl.noCodec.Load() {
					// The origin sends no such codec: asking again at
					// once would not change its mind.
					retryAt[f] = now.Add(pullRetryNoCodec)
				}
				if audioFrom == pl {
					audioFrom = nil
				}
				if p.ctx.Err() == nil {
					p.failed(pl.noRung.Load())
				}
				pl = nil
			}
			if f.Readers() > 0 {
				wanted[f] = now
				if pl == nil && !now.Before(retryAt[f]) {
					pulls[f] = p.startPull(f)
				} else if pl != nil && keyWanted[i].Swap(false) {
					pl.requestKey()
				}
			} else if pl != nil && now.Sub(wanted[f]) > p.n.cfg.PullLinger {
				pl.stop()
				<-pl.done
				delete(pulls, f)
				if audioFrom == pl {
					audioFrom = nil
				}
			}
		}
		if audioFrom == nil || audioFrom.ended() {
			audioFrom = nil
			for _, f := range p.rungs { // the top rung's pull first
				if pl := pulls[f]; pl != nil {
					audioFrom = pl
					break
				}
			}
			for _, pl := range pulls {
				pl.audio.Store(pl == audioFrom)
			}
		}
		if now.Sub(lastDemand) >= time.Second {
			lastDemand = now
			for f, pl := range pulls {
				bps, _ := f.Demand()
				pl.sendDemand(bps)
			}
		}
		select {
		case <-p.ctx.Done():
			return
		case <-tick.C:
		case <-p.wake:
		}
	}
}
