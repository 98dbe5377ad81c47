//go:build cuda

package cuda

import "github.com/mutstream/mutstream/gpu"

// region is an op's rectangle in one plane: samples [x0, x1) x [y0, y1)
// of plane, step bytes apart along a row (2 for NV12's U,V), with comps
// components (2 for NV12's U,V, run as blockIdx.z).
type region struct {
	plane          int
	x0, y0, x1, y1 int
	step, comps    int
}

// regions returns the luma rect [x0, x1) x [y0, y1) (even starts; an end
// is even or the frame's odd size, gpu.Rect.Pixels) and the chroma rects
// under it (gpu.ChromaBox), for format: Y, then U and V (YUV420P) or UV
// (NV12).
func regions(format gpu.PixelFormat, x0, y0, x1, y1 int) []region {
	y := region{plane: 0, x0: x0, y0: y0, x1: x1, y1: y1, step: 1, comps: 1}
	cx0, cy0, cx1, cy1 := gpu.ChromaBox(x0, y0, x1, y1)
	c := region{x0: cx0, y0: cy0, x1: cx1, y1: cy1}
	if format == gpu.NV12 {
		c.plane, c.step, c.comps = 1, 2, 2
		return []region{y, c}
	}
	u, v := c, c
	u.plane, u.step, u.comps = 1, 1, 1
	v.plane, v.step, v.comps = 2, 1, 1
	return []region{y, u, v}
}

// w and h are the region's size in samples.
func (r region) w() int { return r.x1 - r.x0 }
func (r region) h() int { return r.y1 - r.y0 }
