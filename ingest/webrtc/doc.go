// Package webrtc is mediad's WHIP ingest (RFC 9725) on the media side: it
// receives a publisher's H.264 or VP8 video and Opus audio over a pion
// PeerConnection and turns the RTP into stream.Packets on a stream.Hub
// publication, the same way ingest/rtmp does for RTMP.
//
// Signaling (HTTP, SDP) is not here: the signaling package builds the pion
// API with RegisterCodecs and RegisterInterceptors, creates the
// PeerConnection and hands it to NewPublisher before it answers.
//
// Per track, one goroutine reads RTP and one reads RTCP; a single goroutine
// owns everything else: a jitter buffer that reorders packets and waits a
// bounded time for retransmissions (pion's NACK generator asks for them),
// the depacketizers, the timeline and the picture loss indications.
package webrtc
