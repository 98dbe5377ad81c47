package signaling

import (
	"net/http"
	"sort"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/mutstream/mutstream/stream"
)

// MaxSDPSize is the largest offer accepted, in bytes.
const MaxSDPSize = 64 << 10

// offerSummary says what an offer carries.
type offerSummary struct {
	videoCodecs []string // codec names in the video sections, upper case
	audioCodecs []string
	hasVideo    bool
	hasAudio    bool
	hasData     bool
	videoCount  int
	audioCount  int
}

func (s offerSummary) has(kind, codec string) bool {
	list := s.videoCodecs
	if kind == "audio" {
		list = s.audioCodecs
	}
	for _, c := range list {
		if strings.EqualFold(c, codec) {
			return true
		}
	}
	return false
}

// parseOffer checks an SDP offer and says what it carries. Errors carry the
// HTTP status to answer with and a one-line reason.
func parseOffer(body []byte) (offerSummary, error) {
	var sum offerSummary
	if len(strings.TrimSpace(string(body))) == 0 {
		return sum, ErrEmptyOffer
	}
	if len(body) > MaxSDPSize {
		return sum, ErrSDPTooLarge
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		return sum, &offerError{http.StatusBadRequest, "malformed SDP: " + oneLine(err.Error())}
	}
	if len(sd.MediaDescriptions) == 0 {
		return sum, &offerError{http.StatusUnprocessableEntity, "offer has no media sections: need a video section"}
	}
	for _, md := range sd.MediaDescriptions {
		codecs := codecNames(md)
		switch md.MediaName.Media {
		case "video":
			sum.hasVideo = true
			sum.videoCount++
			sum.videoCodecs = append(sum.videoCodecs, codecs...)
		case "audio":
			sum.hasAudio = true
			sum.audioCount++
			sum.audioCodecs = append(sum.audioCodecs, codecs...)
		case "application":
			sum.hasData = true
		}
	}
	sum.videoCodecs = uniq(sum.videoCodecs)
	sum.audioCodecs = uniq(sum.audioCodecs)
	return sum, nil
}

// checkViewerOffer says what a WHEP offer lacks, if anything: a video
// section with a codec of accepted (the config's viewer codecs). Which of
// them the viewer gets depends on the stream too (pickViewerCodec).
func checkViewerOffer(sum offerSummary, accepted []stream.Codec) error {
	if !sum.hasVideo {
		return &offerError{http.StatusUnprocessableEntity, "offer has no video section: mediad sends video"}
	}
	_, err := pickViewerCodec(sum, accepted, nil)
	return err
}

func codecNames(md *sdp.MediaDescription) []string {
	var out []string
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		// "96 H264/90000"
		_, rest, ok := strings.Cut(a.Value, " ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, "/")
		out = append(out, strings.ToUpper(strings.TrimSpace(name)))
	}
	return out
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// validateOffer is all the checking an offer gets before pion sees it: the
// SDP parses, and it carries what a publisher ("whip") or a viewer ("whep")
// needs; a viewer's video codec is one of viewerCodecs (nil: H.264 or
// VP8). Errors carry the HTTP status and a one-line reason.
func validateOffer(kind string, body []byte, viewerCodecs ...stream.Codec) (offerSummary, error) {
	sum, err := parseOffer(body)
	if err != nil {
		return sum, err
	}
	if kind == "whip" {
		return sum, checkPublisherOffer(sum)
	}
	if viewerCodecs == nil {
		viewerCodecs = []stream.Codec{stream.CodecH264, stream.CodecVP8}
	}
	return sum, checkViewerOffer(sum, viewerCodecs)
}
