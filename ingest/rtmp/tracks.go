package rtmp

import (
	"fmt"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/mutstream/mutstream/stream"
)

// sourceTracks is what a publisher offers, as the library sees it and as the
// Hub sees it.
type sourceTracks struct {
	video *gortmplib.Track
	h264  *codecs.H264
	audio *gortmplib.Track // nil when the publisher sends no audio
	aac   *codecs.MPEG4Audio

	videoTrack stream.Track
	audioTrack stream.Track
}

// hubTracks returns the tracks to publish.
func (s *sourceTracks) hubTracks() []stream.Track {
	out := []stream.Track{s.videoTrack}
	if s.audio != nil {
		out = append(out, s.audioTrack)
	}
	return out
}

// audioFrameDuration is how long one AAC access unit lasts, 0 when unknown.
func (s *sourceTracks) audioFrameDuration() time.Duration {
	if s.aac == nil || s.aac.Config == nil || s.aac.Config.SampleRate <= 0 {
		return 0
	}
	samples := 1024
	if s.aac.Config.FrameLengthFlag {
		samples = 960
	}
	return time.Duration(samples) * time.Second / time.Duration(s.aac.Config.SampleRate)
}

// selectTracks accepts exactly one H.264 video track and at most one AAC
// audio track; anything else is a rejection.
func selectTracks(in []*gortmplib.Track) (*sourceTracks, error) {
	s := &sourceTracks{}
	for _, t := range in {
		if t == nil || t.Codec == nil {
			return nil, reject(reasonProbe, "track without codec")
		}
		switch c := t.Codec.(type) {
		case *codecs.H264:
			if s.video != nil {
				return nil, reject(reasonUnsupportedCodec, "%w: more than one video track", ErrUnsupportedCodec)
			}
			s.video, s.h264 = t, c
		case *codecs.MPEG4Audio:
			if s.audio != nil {
				return nil, reject(reasonUnsupportedCodec, "%w: more than one audio track", ErrUnsupportedCodec)
			}
			if c.Config == nil {
				return nil, reject(reasonUnsupportedCodec, "%w: AAC track without AudioSpecificConfig", ErrUnsupportedCodec)
			}
			s.audio, s.aac = t, c
		default:
			kind := "audio"
			if t.Codec.IsVideo() {
				kind = "video"
			}
			return nil, reject(reasonUnsupportedCodec, "%w: %s codec %s; send H.264 video and AAC audio",
				ErrUnsupportedCodec, kind, codecName(t.Codec))
		}
	}
	if s.video == nil {
		return nil, reject(reasonNoVideo, "%w: the publisher must send H.264 video", ErrNoVideo)
	}
	w, h, fps := spsInfo(s.h264.SPS)
	s.videoTrack = stream.Track{Kind: stream.KindVideo, Codec: stream.CodecH264, Width: w, Height: h, FrameRate: fps}
	if s.aac != nil {
		t, err := aacTrack(s.aac.Config)
		if err != nil {
			return nil, err
		}
		s.audioTrack = t
	}
	return s, nil
}

// aacTrack describes an AAC track from its AudioSpecificConfig.
func aacTrack(cfg *mpeg4audio.AudioSpecificConfig) (stream.Track, error) {
	extra, err := cfg.Marshal()
	if err != nil {
		return stream.Track{}, reject(reasonUnsupportedCodec, "%w: AAC config: %w", ErrUnsupportedCodec, err)
	}
	channels := 0
	switch {
	case cfg.ChannelConfig >= 1 && cfg.ChannelConfig <= 6:
		channels = int(cfg.ChannelConfig)
	case cfg.ChannelConfig == 7:
		channels = 8
	}
	return stream.Track{
		Kind:       stream.KindAudio,
		Codec:      stream.CodecAAC,
		SampleRate: cfg.SampleRate,
		Channels:   channels,
		Extradata:  extra,
	}, nil
}

// codecName names a library codec for logs.
func codecName(c codecs.Codec) string {
	switch c.(type) {
	case *codecs.H265:
		return "H.265"
	case *codecs.AV1:
		return "AV1"
	case *codecs.VP9:
		return "VP9"
	case *codecs.MPEG1Audio:
		return "MPEG-1 audio (MP3)"
	case *codecs.Opus:
		return "Opus"
	case *codecs.AC3:
		return "AC-3"
	case *codecs.G711:
		return "G.711"
	case *codecs.LPCM:
		return "LPCM"
	case *codecs.FLAC:
		return "FLAC"
	default:
		return fmt.Sprintf("%T", c)
	}
}
