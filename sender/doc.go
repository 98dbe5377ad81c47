// Package sender is each WebRTC viewer's media path, after the
// negotiation that signaling does: the loop that moves packets from a
// stream's feeds to the viewer's tracks (Viewer), RTP out with continuous
// sequence numbers and timestamps across rung switches, the link meter
// that reads transport-wide feedback, probing with padding, rung switches
// at keyframes, the video hold and the sender reports. Its decisions come
// from adapt: the viewer's raw feedback goes through an adapt.Shaper into
// an adapt.Controller.
//
// Once connected, a viewer on a UDP pair of the server's port sends
// directly (direct.go): it encrypts its RTP with its own SRTP context and
// writes it to the port, and the port hands it its SRTCP (Port), both
// without pion's per-packet layers. Such a viewer's video and audio go
// out in the feed writer's goroutine through sinks (sink.go) while its
// loop is idle, so that its loop wakes for its controller, feedback and
// timers rather than for every packet.
package sender
