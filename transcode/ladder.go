package transcode

import "fmt"

// lowFPSSuffix ends the name of the frame-rate-capped variant of a rung.
const lowFPSSuffix = "-lowfps"

// lowFPSName is the name of the frame-rate-capped variant of the rung
// called base.
func lowFPSName(base string) string { return base + lowFPSSuffix }

// plannedRung is one rung of a stream's ladder as planned for its source.
type plannedRung struct {
	Rung
	// lowFPSOf names the rung whose frame-rate-capped variant this is: it
	// encodes that rung's scaled frames, every other one; empty for the
	// others.
	lowFPSOf string
}

// planLadder returns the rungs for a srcW x srcH source: rungs larger than
// the source (in width or height) are dropped, and when none is left one
// rung at the source size, with the lowest rung's fps and bitrate, remains.
// With lowFPS, the frame-rate-capped variant of the lowest rung planned
// comes last (see lowFPSRung).
func planLadder(ladder []Rung, srcW, srcH int, lowFPS bool) []plannedRung {
	out := make([]plannedRung, 0, len(ladder)+1)
	for _, r := range ladder {
		if r.Width <= srcW && r.Height <= srcH {
			out = append(out, plannedRung{Rung: r})
		}
	}
	if len(out) == 0 && len(ladder) > 0 {
		low := ladder[len(ladder)-1]
		w, h := srcW&^1, srcH&^1
		if w < 2 {
			w = 2
		}
		if h < 2 {
			h = 2
		}
		out = append(out, plannedRung{Rung: Rung{Name: fmt.Sprintf("%dp", h), Width: w, Height: h, FPS: low.FPS, Bitrate: low.Bitrate}})
	}
	if lowFPS && len(out) > 0 {
		out = append(out, lowFPSRung(out[len(out)-1].Rung))
	}
	return out
}

// lowFPSRung is the frame-rate-capped variant of base: the same box at
// half its frame rate (at least 1 fps) and half its bitrate.
func lowFPSRung(base Rung) plannedRung {
	return plannedRung{
		Rung: Rung{
			Name:    lowFPSName(base.Name),
			Width:   base.Width,
			Height:  base.Height,
			FPS:     max(base.FPS/2, 1),
			Bitrate: base.Bitrate / 2,
		},
		lowFPSOf: base.Name,
	}
}

// fitSize returns the largest even size with the source's aspect ratio
// that fits inside boxW x boxH.
func fitSize(srcW, srcH, boxW, boxH int) (int, int) {
	if srcW <= 0 || srcH <= 0 {
		return boxW, boxH
	}
	w, h := boxW, srcH*boxW/srcW
	if h > boxH {
		w, h = srcW*boxH/srcH, boxH
	}
	w, h = even(w), even(h)
	return w, h
}

func even(v int) int {
	v &^= 1
	if v < 2 {
		return 2
	}
	return v
}
