package gpu

import (
	"errors"
	"testing"
)

func TestAnchorPlace(t *testing.T) {
	// 640x360 frame, 100x50 object, margin 0.03 -> 2*round(5.4) = 10 px.
	cases := []struct {
		a    Anchor
		x, y int
	}{
		{TopLeft, 10, 10},
		{Top, 270, 10},
		{TopRight, 530, 10},
		{Left, 10, 154},
		{Center, 270, 154},
		{Right, 530, 154},
		{BottomLeft, 10, 300},
		{Bottom, 270, 300},
		{BottomRight, 530, 300},
	}
	for _, c := range cases {
		x, y := c.a.Place(640, 360, 100, 50, DefaultMargin)
		if x != c.x || y != c.y {
			t.Errorf("%s: (%d, %d), want (%d, %d)", c.a, x, y, c.x, c.y)
		}
	}
}

func TestAnchorPlaceEvenAndInside(t *testing.T) {
	for _, a := range anchors {
		for _, size := range [][4]int{{640, 360, 101, 51}, {64, 48, 63, 47}, {64, 48, 80, 80}, {1920, 1080, 2, 2}} {
			x, y := a.Place(size[0], size[1], size[2], size[3], DefaultMargin)
			if x%2 != 0 || y%2 != 0 || x < 0 || y < 0 {
				t.Errorf("%s %v: (%d, %d) not even and >= 0", a, size, x, y)
			}
			if size[2] <= size[0] && x+size[2] > size[0] || size[3] <= size[1] && y+size[3] > size[1] {
				t.Errorf("%s %v: (%d, %d) leaves the frame", a, size, x, y)
			}
		}
	}
	if x, y := BottomRight.Place(640, 360, 100, 50, 0); x != 540 || y != 310 {
		t.Errorf("no margin: (%d, %d), want (540, 310)", x, y)
	}
}

func TestAnchorValidate(t *testing.T) {
	for _, a := range anchors {
		if err := a.Validate("at"); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range []Anchor{"", "middle", "Top", "top left"} {
		err := a.Validate("at")
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "at" {
			t.Errorf("%q: got %v, want a FieldError on at", a, err)
		}
	}
}
