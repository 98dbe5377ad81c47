package transcode

import (
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// spsShape is what a source's SPS says: its picture size and whether
// browsers can play the stream as it is.
type spsShape struct {
	width, height int
	playable      bool
	why           string // why not, when not playable
}

// findSPS returns the first SPS NAL unit of an Annex-B access unit, nil
// when it has none.
func findSPS(au []byte) []byte {
	var nalus h264.AnnexB
	if err := nalus.Unmarshal(au); err != nil {
		return nil
	}
	for _, n := range nalus {
		if len(n) > 0 && h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS {
			return n
		}
	}
	return nil
}

// inspectSPS parses an SPS NAL unit (ITU-T H.264 7.3.2.1.1).
func inspectSPS(nalu []byte) spsShape {
	var s h264.SPS
	if err := s.Unmarshal(nalu); err != nil {
		return spsShape{why: fmt.Sprintf("SPS does not parse: %v", err)}
	}
	if !spsHasChromaFormat(s.ProfileIdc) {
		s.ChromaFormatIdc = 1 // inferred 4:2:0 (7.4.2.1.1); the parser leaves 0
	}
	sh := spsShape{width: s.Width(), height: s.Height()}
	sh.playable, sh.why = browserPlayable(&s)
	if sh.playable && (sh.width <= 0 || sh.height <= 0) {
		sh.playable, sh.why = false, fmt.Sprintf("SPS gives a %dx%d picture", sh.width, sh.height)
	}
	return sh
}

// browserPlayable reports whether a stream with this SPS plays in browsers
// over WebRTC as it is: 8-bit 4:2:0 progressive H.264 that never reorders
// frames (no B-frames). When in doubt it says no.
func browserPlayable(s *h264.SPS) (bool, string) {
	switch {
	case s.ChromaFormatIdc != 1:
		return false, fmt.Sprintf("chroma format %d is not 4:2:0", s.ChromaFormatIdc)
	case s.BitDepthLumaMinus8 != 0 || s.BitDepthChromaMinus8 != 0:
		return false, fmt.Sprintf("%d-bit video", 8+s.BitDepthLumaMinus8)
	case !s.FrameMbsOnlyFlag:
		return false, "interlaced video"
	case s.ProfileIdc == 66:
		return true, "" // baseline and constrained baseline have no B slices
	case s.VUI != nil && s.VUI.BitstreamRestriction != nil && s.VUI.BitstreamRestriction.MaxNumReorderFrames == 0:
		return true, ""
	}
	return false, fmt.Sprintf("profile %d may reorder frames (B-frames) and the SPS does not declare max_num_reorder_frames=0", s.ProfileIdc)
}

// spsHasChromaFormat reports whether SPSs of this profile carry
// chroma_format_idc (7.3.2.1.1).
func spsHasChromaFormat(profile uint8) bool {
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		return true
	}
	return false
}
