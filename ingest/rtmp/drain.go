package rtmp

import (
	"context"
	"errors"
	"fmt"
)

// Drain shuts the server down gently: it stops accepting connections, tells
// every accepted publisher that the server is shutting down (an onStatus
// NetStream.Unpublish.Success on its stream, then NetConnection.Connect.Closed
// at level error), ends connections still in their set-up, and waits for
// the sessions to end, until ctx is done. Then it closes what is left as
// Close does and waits for every goroutine. It returns ctx's error (wrapped)
// when sessions had to be cut short. Close after Drain does nothing.
func (s *Server) Drain(ctx context.Context) error {
	s.mu.Lock()
	if s.closed || s.draining {
		s.mu.Unlock()
		return s.Close()
	}
	s.draining = true
	lerr := s.stopListening()
	sessions := make([]*session, 0, len(s.conns))
	for _, sess := range s.conns {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	s.log.Info("rtmp draining", "connections", len(sessions))

	for _, sess := range sessions {
		sess.drain()
	}
	ended := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(ended)
	}()
	var err error
	select {
	case <-ended:
	case <-ctx.Done():
		err = fmt.Errorf("rtmp: drain: connections still open: %w", ctx.Err())
	}
	cerr := s.Close()
	<-ended
	return errors.Join(lerr, err, cerr)
}
