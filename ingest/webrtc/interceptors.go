package webrtc

import (
	"fmt"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	pion "github.com/pion/webrtc/v4"
)

// NACK generator settings: ask often enough that a lost packet gets a
// second chance within the default jitter latency, but not forever.
const (
	nackInterval = 40 * time.Millisecond
	nackMaxTries = 4
	nackLogSize  = 512
)

// RegisterInterceptors adds what receiving needs to ir: the NACK generator
// (RFC 4585 generic NACK; the jitter buffer waits for what it asks for),
// a NACK responder, RTCP receiver and sender reports (RFC 3550), transport-
// wide congestion control feedback for the publisher's bandwidth estimate,
// and a counter of the NACKs sent. Call it after RegisterCodecs on the same
// MediaEngine.
func RegisterInterceptors(me *pion.MediaEngine, ir *interceptor.Registry) error {
	if me == nil || ir == nil {
		return fmt.Errorf("%w: nil MediaEngine or interceptor registry", ErrConfig)
	}
	// The counter comes first: the generator writes through the writer
	// bound before it, so the counter must wrap the transport's.
	ir.Add(nackCounterFactory{})
	err := pion.ConfigureNackWithOptions(me, ir,
		[]nack.GeneratorOption{
			nack.GeneratorSize(nackLogSize),
			nack.GeneratorInterval(nackInterval),
			nack.GeneratorMaxNacksPerPacket(nackMaxTries),
		})
	if err != nil {
		return fmt.Errorf("nack interceptors: %w", err)
	}
	if err := pion.ConfigureRTCPReports(ir); err != nil {
		return fmt.Errorf("rtcp report interceptors: %w", err)
	}
	if err := pion.ConfigureTWCCSender(me, ir); err != nil {
		return fmt.Errorf("twcc interceptor: %w", err)
	}
	return nil
}
