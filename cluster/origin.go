package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mutstream/mutstream/stream"
)

// ClaimOrigin makes this node the origin of pub's stream in the directory
// and keeps the lease renewed until release is called. A publisher on
// another node that claims the stream later takes it over: pub is then
// kicked, as a second publisher on one node kicks the first. When Redis
// cannot be reached the publication goes on; the lease is claimed as soon
// as Redis answers again. The demo stream, which every node makes for
// itself, is not recorded.
func (n *Node) ClaimOrigin(pub *stream.Publication) (release func(), err error) {
	if pub.Protocol() == "demo" {
		return func() {}, nil
	}
	if !n.cfg.CanOrigin() {
		return nil, ErrEdgeOnly
	}
	l := &lease{n: n, pub: pub, name: pub.Stream().Name(), stop: make(chan struct{}), done: make(chan struct{})}
	n.wg.Add(1)
	go l.run()
	return l.close, nil
}

type lease struct {
	n    *Node
	pub  *stream.Publication
	name string
	rec  Origin
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func (l *lease) run() {
	defer l.n.wg.Done()
	defer close(l.done)
	n := l.n
	log := n.log.With("stream", l.name)
	ctx, cancel := context.WithTimeout(n.ctx, 500*time.Millisecond)
	rec, old, err := n.dir.Claim(ctx, l.name, n.cfg.NodeID, n.cfg.AdvertiseURL)
	cancel()
	l.rec = rec // on error, renewing claims it once Redis is back
	switch {
	case err != nil:
		log.Warn("origin lease not recorded: the stream plays here, other nodes cannot find it until the directory answers", "err", err)
	case old.Node != "" && old.Node != n.cfg.NodeID:
		log.Info("origin lease taken over", "from", old.Node)
	default:
		log.Info("origin lease claimed")
	}
	t := time.NewTicker(n.cfg.Lease / 3)
	defer t.Stop()
	down := err != nil
	for {
		select {
		case <-l.stop:
			return
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.Lease/3)
		lost, err := n.dir.Renew(ctx, l.name, l.rec)
		cancel()
		switch {
		case err != nil && errors.Is(err, ErrUnavailable):
			if !down {
				log.Warn("origin lease not renewed: directory unreachable", "err", err)
			}
			down = true
		case lost:
			takeovers.Inc()
			log.Info("stream taken over by a publisher on another node: kicking the publisher here")
			go l.pub.Kick() // the kick closes the publication, which releases this lease
			return
		default:
			if down {
				log.Info("origin lease renewed again")
			}
			down = false
		}
	}
}

// close stops renewing and deletes the record if it still is this one.
func (l *lease) close() {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_ = l.n.dir.Release(ctx, l.name, l.rec)
	})
}
