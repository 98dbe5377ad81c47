package webrtc

import (
	"fmt"
	"strconv"

	pion "github.com/pion/webrtc/v4"
)

// h264Profiles are the profile-level-ids WHIP accepts: constrained
// baseline and baseline (browsers), main and high (OBS, GStreamer,
// ffmpeg). The level part does not restrict what pion matches.
var h264Profiles = []string{"42e01f", "42001f", "4d001f", "64001f"}

// Payload types: each video codec takes an even number and its RTX
// (RFC 4588) repair stream the odd one after it.
const (
	ptVP8       = 96
	ptH264First = 102
	ptOpus      = 111
)

func videoFeedback() []pion.RTCPFeedback {
	return []pion.RTCPFeedback{
		{Type: "nack"},
		{Type: "nack", Parameter: "pli"},
		{Type: "ccm", Parameter: "fir"},
	}
}

// RegisterCodecs registers what WHIP ingest accepts on me: H.264 in
// packetization mode 1 (RFC 6184) with the profiles in h264Profiles, VP8
// (RFC 7741), each with NACK, PLI and FIR feedback and an RTX repair stream,
// and Opus at 48 kHz stereo (RFC 7587).
func RegisterCodecs(me *pion.MediaEngine) error {
	if me == nil {
		return fmt.Errorf("%w: nil MediaEngine", ErrConfig)
	}
	video := []pion.RTPCodecParameters{{
		RTPCodecCapability: pion.RTPCodecCapability{
			MimeType: pion.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback(),
		},
		PayloadType: ptVP8,
	}}
	for i, profile := range h264Profiles {
		video = append(video, pion.RTPCodecParameters{
			RTPCodecCapability: pion.RTPCodecCapability{
				MimeType:     pion.MimeTypeH264,
				ClockRate:    90000,
				SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile,
				RTCPFeedback: videoFeedback(),
			},
			PayloadType: pion.PayloadType(ptH264First + 2*i),
		})
	}
	for _, c := range video {
		if err := me.RegisterCodec(c, pion.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("register %s (payload type %d): %w", c.MimeType, c.PayloadType, err)
		}
		rtx := pion.RTPCodecParameters{
			RTPCodecCapability: pion.RTPCodecCapability{
				MimeType: pion.MimeTypeRTX, ClockRate: 90000,
				SDPFmtpLine: "apt=" + strconv.Itoa(int(c.PayloadType)),
			},
			PayloadType: c.PayloadType + 1,
		}
		if err := me.RegisterCodec(rtx, pion.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("register RTX for payload type %d: %w", c.PayloadType, err)
		}
	}
	opus := pion.RTPCodecParameters{
		RTPCodecCapability: pion.RTPCodecCapability{
			MimeType: pion.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: ptOpus,
	}
	if err := me.RegisterCodec(opus, pion.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("register Opus: %w", err)
	}
	return nil
}
