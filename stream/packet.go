// Package stream holds mediad's media unit types and the Hub, which connects
// one publisher per stream name to the renditions its pipeline produces and
// to the viewers that read them.
//
// The package knows nothing of FFmpeg, pion or HTTP: ingest converts into
// Packet, transcode writes Packets into Feeds, and signaling reads them out.
package stream

import (
	"sync/atomic"
	"time"
)

// Kind says whether a track carries video or audio.
type Kind uint8

// Track kinds.
const (
	KindVideo Kind = iota + 1
	KindAudio
)

// String returns "video" or "audio".
func (k Kind) String() string {
	switch k {
	case KindVideo:
		return "video"
	case KindAudio:
		return "audio"
	default:
		return "unknown"
	}
}

// Codec names a codec the way FFmpeg names its decoders, so transcode can
// look the decoder up by name.
type Codec string

// Codecs mediad carries.
const (
	CodecH264     Codec = "h264"
	CodecAAC      Codec = "aac"
	CodecOpus     Codec = "opus"
	CodecVP8      Codec = "vp8"
	CodecRawVideo Codec = "rawvideo"
	CodecPCMS16LE Codec = "pcm_s16le"
)

// Track describes one elementary stream of a publication.
type Track struct {
	Kind  Kind  `json:"-"`
	Codec Codec `json:"codec"`

	// Video.
	Width     int     `json:"width,omitempty"`
	Height    int     `json:"height,omitempty"`
	FrameRate float64 `json:"fps,omitempty"` // nominal frames per second, 0 when unknown
	// PixelFormat is FFmpeg's name of the pixel format, for raw video only.
	PixelFormat string `json:"pixel_format,omitempty"`

	// Audio.
	SampleRate int `json:"sample_rate,omitempty"`
	Channels   int `json:"channels,omitempty"`

	// Extradata is codec configuration carried out of band: the
	// AudioSpecificConfig for AAC. H.264 is carried in Annex-B with its
	// parameter sets in band, so it needs none.
	Extradata []byte `json:"-"`
}

// Packet is one encoded access unit on a stream's timeline.
//
// H.264 data is Annex-B (start codes), with SPS and PPS before every IDR.
// VP8 data is one whole frame as libvpx writes it (RFC 6386: the frame
// header and its partitions, no RTP payload descriptor); Keyframe is set on
// key frames.
// A Packet is immutable once written to a Feed: readers share it.
type Packet struct {
	Kind     Kind
	PTS      time.Duration
	DTS      time.Duration
	Duration time.Duration
	Keyframe bool
	Data     []byte

	// payloads caches Data cut into RTP payloads: cut once, by the first
	// viewer that sends the packet, and shared read-only by every other.
	payloads atomic.Pointer[[][]byte]
}

// Clone returns a copy of p sharing its Data, without its cut payloads:
// for a copy whose fields are to change.
func (p *Packet) Clone() *Packet {
	return &Packet{Kind: p.Kind, PTS: p.PTS, DTS: p.DTS, Duration: p.Duration, Keyframe: p.Keyframe, Data: p.Data}
}

// Payloads returns Data cut into RTP payloads by cut, which runs at most
// once per packet however many viewers send it (two that race both cut,
// and one result wins). The result is shared: never modify it.
func (p *Packet) Payloads(cut func(data []byte) [][]byte) [][]byte {
	if pl := p.payloads.Load(); pl != nil {
		return *pl
	}
	pl := cut(p.Data)
	if !p.payloads.CompareAndSwap(nil, &pl) {
		return *p.payloads.Load()
	}
	return pl
}
