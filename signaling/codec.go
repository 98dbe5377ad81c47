package signaling

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/stream"
)

// viewerVideo is how each video codec a viewer may be sent is offered to
// pion: its capabilities and payload types in the viewer's answer.
var viewerVideo = map[stream.Codec][]webrtc.RTPCodecParameters{
	stream.CodecH264: {
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, PayloadType: 102},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"}, PayloadType: 104},
	},
	stream.CodecVP8: {
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96},
	},
}

// viewerMime is the MIME type of each codec's track.
var viewerMime = map[stream.Codec]string{stream.CodecH264: webrtc.MimeTypeH264, stream.CodecVP8: webrtc.MimeTypeVP8}

// registerViewerVideo registers the video codecs of codecs, in that order,
// each with feedback fb, on a viewer MediaEngine.
func registerViewerVideo(me *webrtc.MediaEngine, codecs []stream.Codec, fb []webrtc.RTCPFeedback) error {
	for _, c := range codecs {
		for _, p := range viewerVideo[c] {
			p.RTCPFeedback = fb
			if err := me.RegisterCodec(p, webrtc.RTPCodecTypeVideo); err != nil {
				return fmt.Errorf("register %s: %w", sdpCodec(c), err)
			}
		}
	}
	return nil
}

// answerVideo is what a viewer's answer offers for its video: codec c
// only, with the feedback the viewer API registers (videoFeedback), at
// the payload types the offer gave them (PayloadType 0: pion takes the
// negotiated one).
func answerVideo(c stream.Codec) []webrtc.RTPCodecParameters {
	out := make([]webrtc.RTPCodecParameters, 0, len(viewerVideo[c]))
	for _, p := range viewerVideo[c] {
		p.RTCPFeedback = videoFeedback
		p.PayloadType = 0
		out = append(out, p)
	}
	return out
}

// videoFeedback is the RTCP feedback viewers' video negotiates: NACK,
// PLI, FIR and transport-wide congestion control.
var videoFeedback = []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}, {Type: webrtc.TypeRTCPFBTransportCC}}

// validateViewerCodecs checks webrtc.viewer_codecs.
func validateViewerCodecs(codecs []stream.Codec) error {
	if len(codecs) == 0 {
		return fmt.Errorf("viewer_codecs: at least one of h264, vp8")
	}
	for i, c := range codecs {
		if _, ok := viewerVideo[c]; !ok {
			return fmt.Errorf("viewer_codecs[%d]: %q is not h264 or vp8", i, c)
		}
		if slices.Index(codecs, c) != i {
			return fmt.Errorf("viewer_codecs[%d]: %q is listed twice", i, c)
		}
	}
	return nil
}

// sdpCodec is a codec's name as SDP writes it: "H264", "VP8".
func sdpCodec(c stream.Codec) string { return strings.ToUpper(string(c)) }

// pickViewerCodec returns the first codec of prefs (the config's order)
// that the offer has and the stream sends. When the stream has no ladder
// yet (sends is empty), the offer alone decides. An offer with none gets
// 422, with what is accepted.
func pickViewerCodec(sum offerSummary, prefs, sends []stream.Codec) (stream.Codec, error) {
	var accepted []string
	for _, c := range prefs {
		if len(sends) > 0 && !slices.Contains(sends, c) {
			continue
		}
		if sum.has("video", sdpCodec(c)) {
			return c, nil
		}
		accepted = append(accepted, sdpCodec(c))
	}
	return "", &offerError{http.StatusUnprocessableEntity, fmt.Sprintf(
		"offer has no video codec mediad sends (offered: %s; accepted: %s)", listOrNone(sum.videoCodecs), listOrNone(accepted))}
}
