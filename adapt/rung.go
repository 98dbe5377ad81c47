package adapt

import "sort"

// Rung is one rendition of the ladder as the controller sees it.
type Rung struct {
	// Name identifies the rung, e.g. "720p".
	Name string
	// Width is the picture width in pixels.
	Width int
	// Height is the picture height in pixels.
	Height int
	// FPS is the rung's frame rate.
	FPS int
	// Bitrate is the rung's target bitrate in bits per second.
	Bitrate int
}

// sortedLadder returns a copy of rungs ordered by bitrate, largest first
// (stable, so equal bitrates keep the caller's order).
func sortedLadder(rungs []Rung) []Rung {
	out := append([]Rung(nil), rungs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Bitrate > out[j].Bitrate })
	return out
}

// indexOf returns the index of the rung named name, or -1.
func indexOf(rungs []Rung, name string) int {
	for i, r := range rungs {
		if r.Name == name {
			return i
		}
	}
	return -1
}

// nearestLower returns the index of the largest rung whose bitrate is at
// most bitrate, or the lowest rung when every rung is above it.
func nearestLower(rungs []Rung, bitrate int) int {
	for i, r := range rungs {
		if r.Bitrate <= bitrate {
			return i
		}
	}
	return len(rungs) - 1
}
