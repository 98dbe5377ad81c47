package gpu

import (
	"math"
	"strings"
)

// Anchor is where an overlay (watermark, text) sits in the frame: one of
// the nine positions below. Its JSON form is the name, such as "top-right".
type Anchor string

// The anchors.
const (
	TopLeft     Anchor = "top-left"
	Top         Anchor = "top"
	TopRight    Anchor = "top-right"
	Left        Anchor = "left"
	Center      Anchor = "center"
	Right       Anchor = "right"
	BottomLeft  Anchor = "bottom-left"
	Bottom      Anchor = "bottom"
	BottomRight Anchor = "bottom-right"
)

// DefaultMargin is the gap between an anchored overlay and the frame's
// edges, as a fraction of the frame's height.
const DefaultMargin = 0.03

// anchors lists the valid anchors, in reading order.
var anchors = [...]Anchor{TopLeft, Top, TopRight, Left, Center, Right, BottomLeft, Bottom, BottomRight}

// Validate checks that a is one of the nine anchors; field names the
// parameter in the error.
func (a Anchor) Validate(field string) error {
	if a.column() >= 0 {
		return nil
	}
	names := make([]string, len(anchors))
	for i, n := range anchors {
		names[i] = string(n)
	}
	return Fieldf(field, "%q: must be one of %s", string(a), strings.Join(names, ", "))
}

// column returns 0, 1 or 2 for the left, middle and right anchors, and -1
// for an unknown one.
func (a Anchor) column() int {
	for i, n := range anchors {
		if a == n {
			return i % 3
		}
	}
	return -1
}

// row returns 0, 1 or 2 for the top, middle and bottom anchors, and -1 for
// an unknown one.
func (a Anchor) row() int {
	for i, n := range anchors {
		if a == n {
			return i / 3
		}
	}
	return -1
}

// Place returns the top-left corner of an objW x objH object anchored at a
// in a frameW x frameH frame, margin (a fraction of the frame's height)
// away from the edges it is anchored to: left and top edges at the margin,
// right and bottom edges at the size minus the margin, the middle
// positions centred. The margin in pixels is 2*round(margin*frameH/2), and
// both coordinates are rounded down to even (so that chroma at half
// resolution lines up) and clamped to keep the object inside the frame
// where it fits (to 0 where it does not). An unknown anchor places the
// object at the top left.
func (a Anchor) Place(frameW, frameH, objW, objH int, margin float64) (x, y int) {
	m := 0
	if margin > 0 && !math.IsInf(margin, 0) {
		m = roundEven(margin * float64(frameH))
	}
	return placeAxis(max(a.column(), 0), frameW, objW, m), placeAxis(max(a.row(), 0), frameH, objH, m)
}

// placeAxis places an object of length obj in size along one axis: at the
// start (pos 0), the middle (1) or the end (2).
func placeAxis(pos, size, obj, margin int) int {
	var v int
	switch pos {
	case 0:
		v = margin
	case 1:
		v = (size - obj) / 2
	default:
		v = size - obj - margin
	}
	v = min(v, size-obj)
	if v < 0 {
		return 0
	}
	return v &^ 1
}
