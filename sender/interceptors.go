package sender

import (
	"fmt"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// InterceptorOptions configures a viewer PeerConnection's interceptors.
type InterceptorOptions struct {
	Resend                                 ResendConfig
	InitialBitrate, MinBitrate, MaxBitrate int // GCC's, bps
	// NoGCC leaves GCC out: the link meter alone gives the estimate
	// (Config.Estimator "meter").
	NoGCC bool
	// OnMeter and OnEstimator receive each new PeerConnection's link meter
	// and bandwidth estimator as the PeerConnection is made.
	OnMeter     func(*Meter)
	OnEstimator func(cc.BandwidthEstimator)
}

// RegisterInterceptors registers transport-cc and adds what every viewer
// PeerConnection runs on each packet, closest to the network first:
//
//   - with estimator gcc only, send-side bandwidth estimation, GCC on
//     transport-wide feedback, with no pacer: the controller keeps the
//     send rate under the estimate by its choice of rung, and pacing would
//     add latency;
//   - the send path (sendpath.go): transport-wide numbers, NACK answers
//     gated by the link meter, which it tells of every packet sent and
//     every feedback;
//
// Sender reports, which carry the clock browsers sync audio by, are the
// send path's too (reports.go), sent by the viewer's loop.
//
// A viewer receives no media: pion's NACK generator and receiver reports,
// which would run a timer per PeerConnection, are left out.
func RegisterInterceptors(me *webrtc.MediaEngine, ir *interceptor.Registry, o InterceptorOptions) error {
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return fmt.Errorf("transport-cc: %w", err)
		}
	}
	if err := addGCC(ir, o); err != nil {
		return err
	}
	ir.Add(sendPathFactory{resend: o.Resend, bottom: o.NoGCC, onNew: func(m *linkMeter, s *sendPath) {
		if o.OnMeter != nil {
			o.OnMeter(&Meter{m: m, s: s})
		}
	}})
	return nil
}

// addGCC adds send-side GCC, unless o.NoGCC.
func addGCC(ir *interceptor.Registry, o InterceptorOptions) error {
	if o.NoGCC {
		return nil
	}
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(o.InitialBitrate),
			gcc.SendSideBWEMinBitrate(o.MinBitrate),
			gcc.SendSideBWEMaxBitrate(o.MaxBitrate),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
		)
	})
	if err != nil {
		return fmt.Errorf("congestion control: %w", err)
	}
	if o.OnEstimator != nil {
		ccf.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { o.OnEstimator(e) })
	}
	ir.Add(ccf)
	return nil
}
