package transcode

import (
	"fmt"
	"time"

	"github.com/mutstream/mutstream/gpu"
)

// setChainTimeout bounds how long SetChain waits for the pipeline.
const setChainTimeout = 2 * time.Second

// chainRequest carries a new chain to the pipeline goroutine.
type chainRequest struct {
	specs []gpu.Spec
	reply chan error // capacity 1: the pipeline never waits on it
}

// SetChain puts specs in force from the next decoded frame on; an empty
// chain removes mutation. The chain is built for the current decoded size
// (or, before the first frame, checked against the source size and built
// at the first frame); when that fails the error is returned and the old
// chain stays. While a non-empty chain is in force the source rung is off,
// so viewers never see the unmutated source; it comes back when the chain
// is emptied. Safe from any goroutine. It waits at most 2 s for the
// pipeline to take the request, and then returns ErrBusy with nothing
// changed; once taken, it waits for the pipeline's answer (or its close),
// so what it returns is what is in force.
func (p *Pipeline) SetChain(specs []gpu.Spec) error {
	req := chainRequest{specs: specs, reply: make(chan error, 1)}
	timer := time.NewTimer(setChainTimeout)
	defer timer.Stop()
	select {
	case p.chainReq <- req:
	case <-p.done:
		return fmt.Errorf("stream %q: set chain: %w", p.name, ErrClosed)
	case <-timer.C:
		return fmt.Errorf("stream %q: set chain: %w: no answer within %v; try again", p.name, ErrBusy, setChainTimeout)
	}
	select {
	case err := <-req.reply:
		return err
	case <-p.done:
		return fmt.Errorf("stream %q: set chain: %w", p.name, ErrClosed)
	}
}

// setChain runs on the pipeline goroutine: it swaps the chain in between
// frames and brings the source rung in line with it.
func (p *Pipeline) setChain(specs []gpu.Spec) error {
	was := p.mut.active()
	if err := p.mut.set(specs, p.video.srcW, p.video.srcH); err != nil {
		return fmt.Errorf("stream %q: %w", p.name, err)
	}
	if now := p.mut.active(); now != was {
		p.log.Info("mutation chain", "ops", len(specs), "source_rung_allowed", !now)
	} else {
		p.log.Info("mutation chain replaced", "ops", len(specs))
	}
	p.syncLadder()
	return nil
}
