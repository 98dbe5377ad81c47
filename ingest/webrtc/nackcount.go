package webrtc

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"

	"github.com/mutstream/mutstream/metrics"
)

// nackCounterFactory builds nackCounter interceptors.
type nackCounterFactory struct{}

// NewInterceptor returns a counter for one PeerConnection.
func (nackCounterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &nackCounter{}, nil
}

// nackCounter counts the RTCP NACKs written to the publisher.
type nackCounter struct {
	interceptor.NoOp
}

// BindRTCPWriter wraps writer to count NACKs on their way out.
func (*nackCounter) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, attrs interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			if n, ok := p.(*rtcp.TransportLayerNack); ok {
				metrics.WHIPNacksSent.Inc()
				requested := 0
				for _, pair := range n.Nacks {
					requested += len(pair.PacketList())
				}
				metrics.WHIPNackedPackets.Add(float64(requested))
			}
		}
		return writer.Write(pkts, attrs)
	})
}

var (
	_ interceptor.Factory     = nackCounterFactory{}
	_ interceptor.Interceptor = (*nackCounter)(nil)
)
