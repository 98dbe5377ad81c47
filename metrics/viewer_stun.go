package metrics

import "github.com/prometheus/client_golang/prometheus"

// ViewerSTUNAnswered counts STUN Binding Requests from viewers that send
// directly that mediad answered on the UDP port itself, without pion.
var ViewerSTUNAnswered = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "mediad_viewer_stun_answered_total",
	Help: "STUN Binding Requests from viewers sending directly that mediad verified and answered on the UDP port itself (pion's ICE agent did not see them).",
})

// ViewerSTUNToPion counts STUN messages read off the UDP port that were
// left to pion's ICE agent, by reason.
var ViewerSTUNToPion = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "mediad_viewer_stun_to_pion_total",
	Help: "STUN messages read off the WebRTC UDP port that went to pion's ICE agent, by reason: no_route (not from a viewer sending directly), address (from a route being moved), malformed, response (to pion's own checks), not_request (an indication, another method or class), username, fingerprint, integrity, role (ICE-CONTROLLED or no ICE-CONTROLLING: pion's role logic), attribute (an attribute mediad does not handle, e.g. renomination), refresh (verified, handed to pion so that its agent keeps hearing from the viewer), restart (the session's credentials changed: an ICE restart; all its STUN is then pion's), write (the answer could not be queued).",
}, []string{"reason"})

func init() { Registry.MustRegister(ViewerSTUNAnswered, ViewerSTUNToPion) }
