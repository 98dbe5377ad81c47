package webrtc

import (
	"encoding/base64"
	"fmt"
	"math"
	"strings"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// maxFrameSize bounds one access unit (and one fragmented NAL unit) from a
// publisher: anything larger is corrupt or hostile.
const maxFrameSize = 8 << 20

// NAL unit types (ITU-T H.264 table 7-1) and RTP payload structures
// (RFC 6184 section 5.4) the depacketizer handles.
const (
	naluNonIDR = 1
	naluIDR    = 5
	naluSEI    = 6
	naluSPS    = 7
	naluPPS    = 8
	naluAUD    = 9
	naluSTAPA  = 24
	naluFUA    = 28
)

// h264Frame reassembles one H.264 access unit from RTP payloads in
// packetization mode 1 (single NAL unit, STAP-A, FU-A; RFC 6184 section
// 5.6-5.8) and writes it as Annex-B with the latest SPS and PPS before
// every IDR. It keeps the parameter sets across frames.
type h264Frame struct {
	nalus [][]byte
	size  int
	fu    []byte // the fragmented NAL unit being rebuilt
	inFU  bool

	sps, pps []byte
}

// reset forgets the frame being built, keeping the parameter sets.
func (f *h264Frame) reset() {
	f.nalus = f.nalus[:0]
	f.size = 0
	f.fu = nil
	f.inFU = false
}

// push adds one RTP payload to the frame.
func (f *h264Frame) push(p []byte) error {
	if len(p) == 0 {
		return errEmptyPayload
	}
	switch t := p[0] & 0x1f; t {
	case naluSTAPA:
		return f.pushSTAPA(p[1:])
	case naluFUA:
		return f.pushFUA(p)
	case 0, 25, 26, 27, 29, 30, 31:
		return fmt.Errorf("%w: H.264 payload type %d is not allowed in packetization mode 1", errBadPayload, t)
	default:
		if f.inFU {
			return fmt.Errorf("%w: NAL unit inside an unfinished FU-A", errBadPayload)
		}
		return f.add(p)
	}
}

func (f *h264Frame) add(nalu []byte) error {
	if f.size+len(nalu) > maxFrameSize {
		return errFrameTooLarge
	}
	f.size += len(nalu)
	f.nalus = append(f.nalus, nalu)
	return nil
}

// pushSTAPA splits a single-time aggregation packet (RFC 6184 5.7.1).
func (f *h264Frame) pushSTAPA(p []byte) error {
	if f.inFU {
		return fmt.Errorf("%w: STAP-A inside an unfinished FU-A", errBadPayload)
	}
	if len(p) == 0 {
		return fmt.Errorf("%w: empty STAP-A", errBadPayload)
	}
	for len(p) > 0 {
		if len(p) < 2 {
			return fmt.Errorf("%w: STAP-A truncated size", errBadPayload)
		}
		n := int(p[0])<<8 | int(p[1])
		p = p[2:]
		if n == 0 || n > len(p) {
			return fmt.Errorf("%w: STAP-A NAL unit size %d with %d bytes left", errBadPayload, n, len(p))
		}
		if err := f.add(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// pushFUA adds a fragmentation unit (RFC 6184 5.8).
func (f *h264Frame) pushFUA(p []byte) error {
	if len(p) < 3 {
		return fmt.Errorf("%w: FU-A of %d bytes", errBadPayload, len(p))
	}
	start, end := p[1]&0x80 != 0, p[1]&0x40 != 0
	switch {
	case start && end:
		return fmt.Errorf("%w: FU-A with both start and end bits", errBadPayload)
	case start:
		if f.inFU {
			return fmt.Errorf("%w: FU-A start inside an unfinished FU-A", errBadPayload)
		}
		f.inFU = true
		f.fu = append(make([]byte, 0, 2*len(p)), p[0]&0xe0|p[1]&0x1f)
	case !f.inFU:
		return fmt.Errorf("%w: FU-A continuation without a start", errBadPayload)
	}
	if f.size+len(f.fu)+len(p)-2 > maxFrameSize {
		return errFrameTooLarge
	}
	f.fu = append(f.fu, p[2:]...)
	if end {
		nalu := f.fu
		f.fu, f.inFU = nil, false
		return f.add(nalu)
	}
	return nil
}

// isFrameStart reports whether payload visibly begins an access unit: its
// first NAL unit is one that precedes slices (AUD, SPS, PPS, SEI) or a slice
// with first_mb_in_slice 0. After a loss, only such a frame can be whole.
func (*h264Frame) isFrameStart(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	var nalu []byte
	switch p[0] & 0x1f {
	case naluSTAPA:
		if len(p) < 4 {
			return false
		}
		nalu = p[3:]
	case naluFUA:
		if len(p) < 3 || p[1]&0x80 == 0 {
			return false
		}
		nalu = append([]byte{p[0]&0xe0 | p[1]&0x1f}, p[2:min(len(p), 3)]...)
	default:
		nalu = p
	}
	switch nalu[0] & 0x1f {
	case naluAUD, naluSPS, naluPPS, naluSEI:
		return true
	case naluNonIDR, naluIDR:
		// first_mb_in_slice is ue(v): 0 is the single bit 1.
		return len(nalu) > 1 && nalu[1]&0x80 != 0
	}
	return false
}

// finish returns the access unit as Annex-B, whether it holds an IDR, and
// resets for the next frame. data is nil when the frame holds no slice
// (only parameter sets, which are kept).
func (f *h264Frame) finish() (data []byte, keyframe bool, err error) {
	defer f.reset()
	if f.inFU {
		return nil, false, fmt.Errorf("%w: frame ends inside an FU-A", errBadPayload)
	}
	hasSlice, hasSPS, hasPPS := false, false, false
	for _, n := range f.nalus {
		switch n[0] & 0x1f {
		case naluSPS:
			f.sps, hasSPS = append(f.sps[:0:0], n...), true
		case naluPPS:
			f.pps, hasPPS = append(f.pps[:0:0], n...), true
		case naluIDR:
			keyframe, hasSlice = true, true
		case naluNonIDR, 2, 3, 4:
			hasSlice = true
		}
	}
	if !hasSlice {
		return nil, false, nil
	}
	var params [][]byte
	if keyframe {
		if !hasSPS && f.sps != nil {
			params = append(params, f.sps)
		}
		if !hasPPS && f.pps != nil {
			params = append(params, f.pps)
		}
	}
	size := f.size + 4*(len(f.nalus)+len(params))
	for _, p := range params {
		size += len(p)
	}
	out := make([]byte, 0, size)
	rest := f.nalus
	if len(params) > 0 && rest[0][0]&0x1f == naluAUD {
		out = appendNALU(out, rest[0])
		rest = rest[1:]
	}
	for _, p := range params {
		out = appendNALU(out, p)
	}
	for _, n := range rest {
		out = appendNALU(out, n)
	}
	return out, keyframe, nil
}

func appendNALU(b, nalu []byte) []byte {
	return append(append(b, 0, 0, 0, 1), nalu...)
}

// videoSize reads the picture size and frame rate from the last SPS;
// zeros when there is none or it cannot be parsed.
func (f *h264Frame) videoSize() (width, height int, fps float64) {
	if len(f.sps) == 0 {
		return 0, 0, 0
	}
	var s h264.SPS
	if err := s.Unmarshal(f.sps); err != nil {
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

// spropParameterSets reads the SPS and PPS of an H.264 fmtp line's
// sprop-parameter-sets (RFC 6184 section 8.1); nil for any that is
// missing or malformed.
func spropParameterSets(fmtp string) (sps, pps []byte) {
	for _, kv := range strings.Split(fmtp, ";") {
		v, ok := strings.CutPrefix(strings.TrimSpace(kv), "sprop-parameter-sets=")
		if !ok {
			continue
		}
		for _, b64 := range strings.Split(v, ",") {
			nalu, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
			if err != nil || len(nalu) == 0 || len(nalu) > 1024 {
				continue
			}
			switch nalu[0] & 0x1f {
			case naluSPS:
				if sps == nil {
					sps = nalu
				}
			case naluPPS:
				if pps == nil {
					pps = nalu
				}
			}
		}
	}
	return sps, pps
}
