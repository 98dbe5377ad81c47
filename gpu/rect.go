package gpu

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
)

// Rect is an area of the frame as fractions of its size: x, y, width and
// height, each in [0, 1]. Its JSON form is an array of four numbers, such
// as [0.25, 0.1, 0.3, 0.3].
type Rect [4]float64

// FullFrame is the Rect covering the whole frame, the default area of the
// ops that take one.
var FullFrame = Rect{0, 0, 1, 1}

// rectSlack absorbs the rounding of sums such as 0.7 + 0.3.
const rectSlack = 1e-9

// UnmarshalJSON takes exactly four numbers; a shorter or longer array is a
// type error naming the field.
func (r *Rect) UnmarshalJSON(b []byte) error {
	var v []float64
	if err := json.Unmarshal(b, &v); err != nil || len(v) != 4 {
		what := "not an array of numbers"
		if err == nil {
			what = fmt.Sprintf("an array of %d numbers", len(v))
		}
		return &json.UnmarshalTypeError{Value: what, Type: reflect.TypeFor[Rect]()}
	}
	copy(r[:], v)
	return nil
}

// Validate checks that the rect lies inside the frame and is not empty;
// field names the parameter in the error.
func (r Rect) Validate(field string) error {
	for i, v := range r {
		if !(v >= 0 && v <= 1) {
			return Fieldf(field, "element %d is %v: must be in [0, 1]", i, v)
		}
	}
	if r[2] <= 0 || r[3] <= 0 {
		return Fieldf(field, "width and height must be > 0 (got %v x %v)", r[2], r[3])
	}
	if r[0]+r[2] > 1+rectSlack {
		return Fieldf(field, "x + width is %v: must be <= 1", r[0]+r[2])
	}
	if r[1]+r[3] > 1+rectSlack {
		return Fieldf(field, "y + height is %v: must be <= 1", r[1]+r[3])
	}
	return nil
}

// Pixels returns the rect in pixels of a w x h frame as the half-open box
// [x0, x1) x [y0, y1). Each edge is rounded to the nearest even pixel
// (edge = 2 * round(fraction * size / 2)), so that chroma at half
// resolution covers exactly the same area, and clamped to the frame: on an
// odd side, an edge that reaches the frame's end is the (odd) size itself,
// so a rect to the edge covers the last column or row too. x0 and y0 are
// always even. A rect that would round to nothing covers 2 pixels (3 at
// the end of an odd side), so the result is never empty for a frame of at
// least 2 x 2. The chroma samples under the box are
// [x0/2, (x1+1)/2) x [y0/2, (y1+1)/2) (ChromaBox).
func (r Rect) Pixels(w, h int) (x0, y0, x1, y1 int) {
	x0, x1 = evenSpan(r[0], r[2], w)
	y0, y1 = evenSpan(r[1], r[3], h)
	return x0, y0, x1, y1
}

// ChromaBox returns the chroma samples under the luma box [x0, x1) x
// [y0, y1) of Pixels: [x0/2, (x1+1)/2) x [y0/2, (y1+1)/2).
func ChromaBox(x0, y0, x1, y1 int) (cx0, cy0, cx1, cy1 int) {
	return x0 / 2, y0 / 2, (x1 + 1) / 2, (y1 + 1) / 2
}

// evenSpan turns a start and length (fractions of size) into pixel edges
// inside [0, size]: the start even, the end even or size.
func evenSpan(start, length float64, size int) (int, int) {
	a := clampInt(roundEven(start*float64(size)), 0, size) &^ 1
	b := clampInt(roundEven((start+length)*float64(size)), 0, size)
	if b <= a {
		b = min(a+2, size)
		a = max(b-2, 0) &^ 1
	}
	return a, b
}

// roundEven rounds v to the nearest even integer (halves away from zero).
func roundEven(v float64) int {
	if math.IsNaN(v) {
		return 0
	}
	v = math.Max(-1e9, math.Min(1e9, v))
	return 2 * int(math.Round(v/2))
}

func clampInt(v, lo, hi int) int {
	return max(lo, min(v, hi))
}
