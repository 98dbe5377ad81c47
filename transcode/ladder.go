package transcode

import (
	"fmt"
	"math"
)

// lowFPSSuffix ends the name of the frame-rate-capped variant of a rung.
const lowFPSSuffix = "-lowfps"

// lowFPSName is the name of the frame-rate-capped variant of the rung
// called base.
func lowFPSName(base string) string { return base + lowFPSSuffix }

// plannedRung is one rung of a stream's ladder as planned for its source:
// Width and Height are the size it is encoded at (rungSize).
type plannedRung struct {
	Rung
	// lowFPSOf names the rung whose frame-rate-capped variant this is: it
	// encodes that rung's scaled frames, every other one; empty for the
	// others.
	lowFPSOf string
}

// planLadder returns the rungs for a srcW x srcH source, each sized by
// rungSize: a rung is defined by its short side and follows the source's
// orientation and aspect ratio (a 1080x1920 source gets "720p" at
// 720x1280). Rungs whose short side is longer than the source's are
// dropped (never upscale), and when none is left one rung at the source
// size (rounded down to even), named for its short side, with the lowest
// rung's fps and bitrate, remains. With lowFPS, the frame-rate-capped
// variant of the lowest rung planned comes last (see lowFPSRung).
func planLadder(ladder []Rung, srcW, srcH int, lowFPS bool) []plannedRung {
	out := make([]plannedRung, 0, len(ladder)+1)
	for _, r := range ladder {
		if w, h, ok := rungSize(srcW, srcH, r); ok {
			r.Width, r.Height = w, h
			out = append(out, plannedRung{Rung: r})
		}
	}
	if len(out) == 0 && len(ladder) > 0 {
		low := ladder[len(ladder)-1]
		w, h := even(srcW), even(srcH)
		out = append(out, plannedRung{Rung: Rung{Name: fmt.Sprintf("%dp", min(w, h)), Width: w, Height: h, FPS: low.FPS, Bitrate: low.Bitrate}})
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

// rungSize is the size rung r is encoded at for a srcW x srcH source: its
// short side is the rung's short side (min of Width and Height, e.g. 720
// for 1280x720) along the source's short side, its long side keeps the
// source's aspect ratio (rounded to the nearest even number, at most the
// source's long side rounded down to even), and it follows the source's
// orientation: 1920x1080 -> 1280x720, 1080x1920 -> 720x1280, 1440x1080
// (4:3) -> 960x720, 641x361 -> 640x360 for "360p". ok is false when the
// rung's short side is longer than the source's (it would upscale). An
// unknown source size gives the rung's own box.
func rungSize(srcW, srcH int, r Rung) (w, h int, ok bool) {
	if srcW <= 0 || srcH <= 0 {
		return r.Width, r.Height, true
	}
	short := min(r.Width, r.Height)
	srcShort, srcLong := min(srcW, srcH), max(srcW, srcH)
	if short > srcShort {
		return 0, 0, false
	}
	long := 2 * int(math.Round(float64(short)*float64(srcLong)/float64(srcShort)/2))
	long = max(short, min(long, srcLong&^1))
	if srcW >= srcH {
		return long, short, true
	}
	return short, long, true
}

func even(v int) int {
	v &^= 1
	if v < 2 {
		return 2
	}
	return v
}
