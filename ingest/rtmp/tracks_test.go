package rtmp

import (
	"errors"
	"testing"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/mutstream/mutstream/stream"
)

func TestSelectTracks(t *testing.T) {
	h264Track := &gortmplib.Track{Codec: &codecs.H264{SPS: testSPS, PPS: testPPS}}
	aac := &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2, ChannelCount: 2}
	aacTrack := &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: aac}}
	mp3Track := &gortmplib.Track{Codec: &codecs.MPEG1Audio{}}
	h265Track := &gortmplib.Track{Codec: &codecs.H265{}}

	tests := []struct {
		name       string
		in         []*gortmplib.Track
		wantReason string
		wantErr    error
	}{
		{"video+aac", []*gortmplib.Track{h264Track, aacTrack}, "", nil},
		{"video only", []*gortmplib.Track{h264Track}, "", nil},
		{"mp3", []*gortmplib.Track{h264Track, mp3Track}, reasonUnsupportedCodec, ErrUnsupportedCodec},
		{"h265", []*gortmplib.Track{h265Track, aacTrack}, reasonUnsupportedCodec, ErrUnsupportedCodec},
		{"two videos", []*gortmplib.Track{h264Track, h264Track}, reasonUnsupportedCodec, ErrUnsupportedCodec},
		{"audio only", []*gortmplib.Track{aacTrack}, reasonNoVideo, ErrNoVideo},
		{"nothing", nil, reasonNoVideo, ErrNoVideo},
		{"aac without config", []*gortmplib.Track{h264Track, {Codec: &codecs.MPEG4Audio{}}}, reasonUnsupportedCodec, ErrUnsupportedCodec},
		{"nil codec", []*gortmplib.Track{{}}, reasonProbe, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := selectTracks(tt.in)
			if tt.wantReason != "" {
				if reasonOf(err, "") != tt.wantReason || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("err = %v, want reason %s", err, tt.wantReason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.videoTrack.Kind != stream.KindVideo || src.videoTrack.Codec != stream.CodecH264 {
				t.Errorf("video track %+v", src.videoTrack)
			}
			if src.audio != nil {
				at := src.audioTrack
				if at.Codec != stream.CodecAAC || at.SampleRate != 48000 || at.Channels != 2 || len(at.Extradata) != 2 {
					t.Errorf("audio track %+v", at)
				}
				if d := src.audioFrameDuration(); d.Microseconds() != 21333 {
					t.Errorf("frame duration %v", d)
				}
			}
			if n := len(src.hubTracks()); n != len(tt.in) {
				t.Errorf("%d hub tracks, want %d", n, len(tt.in))
			}
		})
	}
}
