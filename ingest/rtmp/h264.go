package rtmp

import (
	"math"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// annexBWriter turns H.264 access units (lists of NAL units) into Annex-B,
// with the latest SPS and PPS before every IDR.
type annexBWriter struct {
	sps []byte
	pps []byte
}

func newAnnexBWriter(sps, pps []byte) *annexBWriter {
	w := &annexBWriter{}
	w.setParams(sps, pps)
	return w
}

// setParams keeps copies of non-empty parameter sets.
func (w *annexBWriter) setParams(sps, pps []byte) {
	if len(sps) > 0 {
		w.sps = append([]byte(nil), sps...)
	}
	if len(pps) > 0 {
		w.pps = append([]byte(nil), pps...)
	}
}

// write converts au. It returns nil when au holds nothing to decode (only
// parameter sets, or nothing at all), which are kept for the next IDR.
func (w *annexBWriter) write(au [][]byte) (data []byte, keyframe bool) {
	hasSlice := false
	for _, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		switch h264.NALUType(nalu[0] & 0x1f) {
		case h264.NALUTypeSPS:
			w.setParams(nalu, nil)
		case h264.NALUTypePPS:
			w.setParams(nil, nalu)
		case h264.NALUTypeIDR:
			keyframe = true
			hasSlice = true
		case h264.NALUTypeNonIDR, h264.NALUTypeDataPartitionA:
			hasSlice = true
		}
	}
	if !hasSlice {
		return nil, false
	}
	out := make(h264.AnnexB, 0, len(au)+2)
	if keyframe && w.sps != nil && w.pps != nil {
		// Access unit delimiter first, then parameter sets, then the rest
		// without the parameter sets it carried (already kept above).
		rest := au
		if len(au[0]) > 0 && h264.NALUType(au[0][0]&0x1f) == h264.NALUTypeAccessUnitDelimiter {
			out = append(out, au[0])
			rest = au[1:]
		}
		out = append(out, w.sps, w.pps)
		for _, nalu := range rest {
			if len(nalu) == 0 {
				continue
			}
			if t := h264.NALUType(nalu[0] & 0x1f); t == h264.NALUTypeSPS || t == h264.NALUTypePPS {
				continue
			}
			out = append(out, nalu)
		}
	} else {
		for _, nalu := range au {
			if len(nalu) > 0 {
				out = append(out, nalu)
			}
		}
	}
	buf, err := out.Marshal()
	if err != nil {
		return nil, false
	}
	return buf, keyframe
}

// spsInfo reads the picture size and nominal frame rate from an SPS; zeros
// when it cannot be parsed.
func spsInfo(sps []byte) (width, height int, fps float64) {
	if len(sps) == 0 {
		return 0, 0, 0
	}
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return 0, 0, 0
	}
	width, height = s.Width(), s.Height()
	if width <= 0 || height <= 0 || width > 16384 || height > 16384 {
		width, height = 0, 0
	}
	fps = s.FPS()
	if math.IsNaN(fps) || math.IsInf(fps, 0) || fps <= 0 || fps > 1000 {
		fps = 0
	}
	return width, height, fps
}
