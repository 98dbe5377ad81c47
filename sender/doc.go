// Package sender is each WebRTC viewer's media path, after the
// negotiation that signaling does: the loop that moves packets from a
// stream's feeds to the viewer's tracks (Viewer), RTP out with continuous
// sequence numbers and timestamps across rung switches, the link meter
// that reads transport-wide feedback, probing with padding, rung switches
// at keyframes and the video hold. Its decisions come from adapt: the
// viewer's raw feedback goes through an adapt.Shaper into an
// adapt.Controller.
package sender
