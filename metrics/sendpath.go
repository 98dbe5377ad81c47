package metrics

import "github.com/prometheus/client_golang/prometheus"

// ViewerSendPaths counts viewer connections by the way their RTP leaves:
// "direct" (mediad encrypts and writes to the UDP port itself) or "pion"
// (through pion's SRTP session and ICE connection), with the reason when
// the direct path could not be taken.
var ViewerSendPaths = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "mediad_viewer_send_path_total",
	Help: "Viewer connections by how their RTP is sent: path direct (encrypted and written to the UDP port by mediad) or pion (pion's SRTP session), and why not direct (reason).",
}, []string{"path", "reason"})

func init() { Registry.MustRegister(ViewerSendPaths) }
