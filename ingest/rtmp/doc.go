// Package rtmp is mediad's RTMP ingest: it accepts publishers (OBS, ffmpeg)
// on a TCP port, checks their token, and turns their H.264 video and AAC
// audio into stream.Packets on a stream.Hub publication.
//
// A publisher connects to rtmp://host:1935/APP/NAME?token=T, or, in OBS,
// sets Server to rtmp://host/APP and Stream Key to NAME?token=T. Playback
// over RTMP is refused: viewers watch over WebRTC.
package rtmp
