package metrics

import "github.com/prometheus/client_golang/prometheus"

// ViewerSendPaths counts viewer connections by the way their RTP leaves:
// "direct" (mediad encrypts and writes to the UDP port itself) or "pion"
// (through pion's SRTP session and ICE connection), with the reason when
// the direct path could not be taken.
var ViewerSendPaths = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "mediad_viewer_send_path_total",
	Help: "Viewer connections by how their RTP is sent: path direct (encrypted and written to the UDP port by mediad) or pion (pion's SRTP session), and why not direct (reason); path closed counts direct viewers ended because their selected ICE pair left the port (to a relay or TCP).",
}, []string{"path", "reason"})

// ViewerRTCPRejected counts SRTCP packets from viewers that send directly
// that mediad did not take, by reason: decrypt (left to pion, which drops
// it) or parse (authentic, but not RTCP).
var ViewerRTCPRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "mediad_viewer_rtcp_rejected_total",
	Help: "SRTCP packets from viewers sending directly that were not taken, by reason: decrypt (did not authenticate; left to pion) or parse (authentic but not RTCP).",
}, []string{"reason"})

func init() { Registry.MustRegister(ViewerSendPaths, ViewerRTCPRejected) }
