package transcode

import "fmt"

// planLadder returns the rungs for a srcW x srcH source: rungs larger than
// the source (in width or height) are dropped, and when none is left one
// rung at the source size, with the lowest rung's fps and bitrate, remains.
func planLadder(ladder []Rung, srcW, srcH int) []Rung {
	out := make([]Rung, 0, len(ladder))
	for _, r := range ladder {
		if r.Width <= srcW && r.Height <= srcH {
			out = append(out, r)
		}
	}
	if len(out) > 0 || len(ladder) == 0 {
		return out
	}
	low := ladder[len(ladder)-1]
	w, h := srcW&^1, srcH&^1
	if w < 2 {
		w = 2
	}
	if h < 2 {
		h = 2
	}
	return []Rung{{Name: fmt.Sprintf("%dp", h), Width: w, Height: h, FPS: low.FPS, Bitrate: low.Bitrate}}
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
