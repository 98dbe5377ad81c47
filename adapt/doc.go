// Package adapt is the per-viewer adaptation controller: WebRTC feedback
// (the Google Congestion Control estimate, RTCP receiver-report loss and RTT,
// the NACK rate) and the time come in with each Update, and a Decision comes
// out: the rung of the ladder to send, a frame-rate cap, or audio-only.
//
// The package is pure: it does no I/O, starts no goroutines and never reads
// the clock, so a trace of Stats replays to the same decisions every time
// (see Replay).
//
// pion's GCC estimate grows without bound when the sender is
// application-limited and can drop sharply on a single delay spike, so the
// controller decides on a clamped, smoothed estimate that falls fast (a drop
// that persists or that loss or overuse confirms) and rises slowly (EWMA).
// Congestion (delay overuse, RTCP loss, NACK rate) steps down at once; a step
// up needs the estimate to hold above the next rung with a margin for a while,
// one rung at a time, with a hold that doubles after an up-switch fails.
// Below the next rung the controller names a probe target for the sender to
// pad up to; congestion while probing ends the probe (and doubles the pause
// before the next) rather than the rung, as long as the rung still fits.
// See draft-ietf-rmcat-gcc and RFC 8867 section 5.1 for the test traces.
package adapt
