package gpu

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestRectValidate(t *testing.T) {
	good := []Rect{FullFrame, {0.7, 0.7, 0.3, 0.3}, {0.1, 0.2, 0.3, 0.4}, {0, 0, 0.001, 0.001}}
	for _, r := range good {
		if err := r.Validate("rect"); err != nil {
			t.Errorf("%v: %v", r, err)
		}
	}
	bad := []Rect{{-0.1, 0, 0.5, 0.5}, {0, 1.2, 0.5, 0.5}, {0, 0, 0, 0.5}, {0, 0, 0.5, 0}, {0.6, 0, 0.5, 0.5}, {0, 0.6, 0.5, 0.5}}
	for _, r := range bad {
		err := r.Validate("rect")
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "rect" {
			t.Errorf("%v: got %v, want a FieldError on rect", r, err)
		}
	}
}

func TestRectPixels(t *testing.T) {
	cases := []struct {
		r              Rect
		w, h           int
		x0, y0, x1, y1 int
	}{
		{FullFrame, 16, 8, 0, 0, 16, 8},
		{FullFrame, 1280, 720, 0, 0, 1280, 720},
		{Rect{0.25, 0.25, 0.5, 0.5}, 16, 8, 4, 2, 12, 6},
		{Rect{0.3, 0.3, 0.3, 0.3}, 1280, 720, 384, 216, 768, 432},
		{Rect{0.1, 0.1, 0.1, 0.1}, 30, 10, 4, 2, 6, 4}, // x: 3 -> 4 (halves away from zero); y: 1 -> 2 and 2 -> 2, grown to 4
		{Rect{0, 0, 0.001, 0.001}, 16, 8, 0, 0, 2, 2},  // never empty
		{Rect{0.999, 0.999, 0.001, 0.001}, 16, 8, 14, 6, 16, 8},
		// Odd sides: a rect to the edge covers the last column and row;
		// inner edges stay even.
		{FullFrame, 641, 361, 0, 0, 641, 361},
		{Rect{0.5, 0.5, 0.5, 0.5}, 641, 361, 320, 180, 641, 361},
		{Rect{0.25, 0.25, 0.5, 0.5}, 641, 361, 160, 90, 480, 270},
		{Rect{0.9999, 0.9999, 0.0001, 0.0001}, 641, 361, 640, 360, 641, 361},
		{Rect{0.9984, 0, 0.0001, 1}, 641, 361, 638, 0, 641, 361}, // x: 640 -> 640 grown to 3 pixels at the odd end
		{FullFrame, 1, 1, 0, 0, 1, 1},
	}
	for _, c := range cases {
		x0, y0, x1, y1 := c.r.Pixels(c.w, c.h)
		if x0 != c.x0 || y0 != c.y0 || x1 != c.x1 || y1 != c.y1 {
			t.Errorf("%v on %dx%d: got %d,%d,%d,%d want %d,%d,%d,%d", c.r, c.w, c.h, x0, y0, x1, y1, c.x0, c.y0, c.x1, c.y1)
		}
		for _, v := range []int{x0, y0} {
			if v%2 != 0 {
				t.Errorf("%v: odd start %d", c.r, v)
			}
		}
		if (x1%2 != 0 && x1 != c.w) || (y1%2 != 0 && y1 != c.h) {
			t.Errorf("%v on %dx%d: odd end (%d, %d) inside the frame", c.r, c.w, c.h, x1, y1)
		}
	}
}

func TestRectJSON(t *testing.T) {
	var r Rect
	if err := json.Unmarshal([]byte(`[0.1,0.2,0.3,0.4]`), &r); err != nil {
		t.Fatal(err)
	}
	if r != (Rect{0.1, 0.2, 0.3, 0.4}) {
		t.Fatalf("got %v", r)
	}
	b, _ := json.Marshal(r)
	if string(b) != `[0.1,0.2,0.3,0.4]` {
		t.Fatalf("got %s", b)
	}
}
