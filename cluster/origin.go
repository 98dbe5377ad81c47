package cluster

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/mutstream/mutstream/metrics"
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
	n.mu.Lock()
	if n.closed { // Close waits for what it started: nothing starts after it
		n.mu.Unlock()
		return nil, ErrClosed
	}
	n.wg.Add(1)
	n.mu.Unlock()
	go l.run()
	return l.close, nil
}

type lease struct {
	n    *Node
	pub  *stream.Publication
	name string
	rec  Origin // the record written; zero until a claim succeeds
	// triedClaim is set after the first claim (run's goroutine only).
	triedClaim bool
	stop       chan struct{}
	done       chan struct{}
	once       sync.Once
}

func (l *lease) run() {
	defer l.n.wg.Done()
	defer close(l.done)
	n := l.n
	log := n.log.With("stream", l.name)
	claimed := l.claim(log)
	t := time.NewTicker(n.cfg.Lease / 3)
	defer t.Stop()
	down := !claimed
	for {
		select {
		case <-l.stop:
			return
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		if !claimed {
			// Never written: claim it, as a publisher does. A renewal
			// would take any record there (an origin that died, whose
			// lease has not run out) for a takeover of this publisher.
			claimed = l.claim(log)
			down = !claimed
			continue
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
			metrics.ClusterTakeovers.Inc()
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

// claim records this node as the stream's origin; false when the
// directory cannot be reached (logged once, by the first try).
func (l *lease) claim(log *slog.Logger) bool {
	n := l.n
	ctx, cancel := context.WithTimeout(n.ctx, 500*time.Millisecond)
	rec, old, err := n.dir.Claim(ctx, l.name, n.cfg.NodeID, n.cfg.AdvertiseURL)
	cancel()
	switch {
	case err != nil:
		if !l.triedClaim {
			log.Warn("origin lease not recorded: the stream plays here, other nodes cannot find it until the directory answers", "err", err)
		}
		l.triedClaim = true
		return false
	case old.Node != "" && old.Node != n.cfg.NodeID:
		log.Info("origin lease taken over", "from", old.Node)
	case l.triedClaim:
		log.Info("origin lease claimed once the directory answered")
	default:
		log.Info("origin lease claimed")
	}
	l.triedClaim = true
	l.rec = rec
	return true
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
