package cpu

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

func init() { Register("blur", newBlur) }

// boxShift is the shift of the box filter's exact reciprocal division.
const boxShift = 44

// span is one plane's samples inside a rect: Y, U or V. Sample (x, y) of
// the span is Planes[plane][(y0+y)*stride + off + x*step].
type span struct {
	plane int
	off   int // byte offset of the rect's first sample in a row
	step  int // 1 for planar samples, 2 for NV12's interleaved U and V
	y0    int // the rect's first row in the plane
	w, h  int // the rect's size in samples
}

// rectSpans returns the spans of the pixel rect [x0,x1) x [y0,y1) (even
// starts; an end is even or the frame's odd size, gpu.Rect.Pixels) in each
// plane of format: Y, then U and V over gpu.ChromaBox.
func rectSpans(format gpu.PixelFormat, x0, y0, x1, y1 int) ([3]span, error) {
	cx, cy, cx1, cy1 := gpu.ChromaBox(x0, y0, x1, y1)
	cw, ch := cx1-cx, cy1-cy
	s := [3]span{{plane: 0, off: x0, step: 1, y0: y0, w: x1 - x0, h: y1 - y0}}
	switch format {
	case gpu.YUV420P:
		s[1] = span{plane: 1, off: cx, step: 1, y0: cy, w: cw, h: ch}
		s[2] = span{plane: 2, off: cx, step: 1, y0: cy, w: cw, h: ch}
	case gpu.NV12:
		s[1] = span{plane: 1, off: 2 * cx, step: 2, y0: cy, w: cw, h: ch}
		s[2] = span{plane: 1, off: 2*cx + 1, step: 2, y0: cy, w: cw, h: ch}
	default:
		return s, fmt.Errorf("pixel format %v not supported", format)
	}
	return s, nil
}

// row returns the bytes of row y of the span in f, from its first sample.
func (s *span) row(f *gpu.Frame, y int) []byte {
	start := (s.y0+y)*f.Strides[s.plane] + s.off
	return f.Planes[s.plane][start : start+(s.w-1)*s.step+1]
}

// blurPlane is a span with the buffers and weights of its filter.
type blurPlane struct {
	span
	r   int
	wt  []uint32 // gaussian weights w[0..r]
	m   uint64   // box: ceil(2^boxShift / (2r+1)^2)
	n2  uint32   // box: (2r+1)^2 / 2, for rounding
	tmp []uint16 // row pass output, w*h
	acc []uint32 // column pass sums, w
}

// blurOp is a prepared blur: a row pass into tmp, then a column pass back
// into the frame, each run on the pool.
type blurOp struct {
	box      bool
	w, h     int
	format   gpu.PixelFormat
	planes   [3]blurPlane
	f        *gpu.Frame
	vertical bool // the pass that Band runs: columns, or the row pass
}

var _ Bander = (*blurOp)(nil)

func newBlur(p gpu.Params, w, h int, format gpu.PixelFormat) (Op, error) {
	bp, ok := p.(*gpu.BlurParams)
	if !ok {
		return nil, fmt.Errorf("blur: parameters are %T", p)
	}
	if bp.Radius < 1 || bp.Radius > gpu.HardMaxBlurRadius {
		return nil, fmt.Errorf("blur: radius %d: must be 1..%d", bp.Radius, gpu.HardMaxBlurRadius)
	}
	x0, y0, x1, y1 := bp.Rect.Pixels(w, h)
	spans, err := rectSpans(format, x0, y0, x1, y1)
	if err != nil {
		return nil, fmt.Errorf("blur: %w", err)
	}
	op := &blurOp{box: bp.Kind == gpu.BlurBox, w: w, h: h, format: format}
	for i, s := range spans {
		r := bp.Radius
		if i > 0 {
			r = (bp.Radius + 1) / 2
		}
		n := uint64((2*r + 1) * (2*r + 1))
		op.planes[i] = blurPlane{
			span: s,
			r:    r,
			wt:   gpu.GaussianWeights(r),
			m:    (1<<boxShift + n - 1) / n,
			n2:   uint32(n / 2),
			tmp:  make([]uint16, s.w*s.h),
			acc:  make([]uint32, s.w),
		}
	}
	return op, nil
}

func (op *blurOp) Apply(f *gpu.Frame, _ gpu.FrameInfo, pool *Pool) error {
	if f.Width != op.w || f.Height != op.h || f.Format != op.format {
		return fmt.Errorf("blur: frame is %dx%d %v, prepared for %dx%d %v", f.Width, f.Height, f.Format, op.w, op.h, op.format)
	}
	op.f = f
	op.vertical = false
	if op.box {
		pool.Run(op.planes[0].h, op) // running sums along rows: bands of rows
	} else {
		pool.Run(op.planes[0].w, op) // bands of columns, summed in acc
	}
	op.vertical = true
	pool.Run(op.planes[0].w, op)
	op.f = nil
	return nil
}

// Band runs the current pass over luma rows (box row pass) or columns
// (other passes) [a, b), and over the chroma rows or columns under them.
func (op *blurOp) Band(a, b int) {
	for i := range op.planes {
		p := &op.planes[i]
		lo, hi := a, b
		if i > 0 {
			lo, hi = (a+1)/2, (b+1)/2
		}
		switch {
		case !op.vertical && op.box:
			for y := lo; y < hi; y++ {
				p.boxRow(op.f, y)
			}
		case !op.vertical:
			p.gaussRows(op.f, lo, hi)
		case op.box:
			p.boxColumns(op.f, lo, hi)
		default:
			p.gaussColumns(op.f, lo, hi)
		}
	}
}

// gaussRows filters columns [c0, c1) of every row of the span into tmp,
// in 8.8 fixed point, using acc[c0:c1] as the sums.
func (p *blurPlane) gaussRows(f *gpu.Frame, c0, c1 int) {
	if c0 >= c1 {
		return
	}
	acc := p.acc[c0:c1]
	r, st, wt, w := p.r, p.step, p.wt, p.w
	for y := 0; y < p.h; y++ {
		src := p.row(f, y)
		at := func(x int) uint32 { return uint32(src[max(0, min(x, w-1))*st]) }
		w0 := wt[0]
		for i := range acc {
			acc[i] = w0 * uint32(src[(c0+i)*st])
		}
		for k := 1; k <= r; k++ {
			wk := wt[k]
			// Columns [a, b) have both neighbours inside the span.
			a, b := max(c0, k), min(c1, w-k)
			if a < b {
				if st == 1 {
					l, rr, ac := src[a-k:b-k], src[a+k:b+k], acc[a-c0:b-c0]
					rr, ac = rr[:len(l)], ac[:len(l)]
					for i, v := range l {
						ac[i] += wk * (uint32(v) + uint32(rr[i]))
					}
				} else {
					for x := a; x < b; x++ {
						acc[x-c0] += wk * (uint32(src[(x-k)*st]) + uint32(src[(x+k)*st]))
					}
				}
			}
			for x := c0; x < min(a, c1); x++ {
				acc[x-c0] += wk * (at(x-k) + at(x+k))
			}
			for x := max(a, b); x < c1; x++ {
				acc[x-c0] += wk * (at(x-k) + at(x+k))
			}
		}
		dst := p.tmp[y*w+c0 : y*w+c1]
		dst = dst[:len(acc)]
		for i, v := range acc {
			dst[i] = uint16((v + 8) >> 4)
		}
	}
}

// gaussColumns filters columns [c0, c1) of tmp back into the frame.
func (p *blurPlane) gaussColumns(f *gpu.Frame, c0, c1 int) {
	if c0 >= c1 {
		return
	}
	acc := p.acc[c0:c1]
	for y := 0; y < p.h; y++ {
		mid := p.tmp[y*p.w+c0 : y*p.w+c1]
		w0 := p.wt[0]
		for x, v := range mid {
			acc[x] = w0 * uint32(v)
		}
		k := 1
		for ; k+1 <= p.r; k += 2 { // two offsets per sweep of acc
			ya, yb := max(y-k, 0), min(y+k, p.h-1)
			yc, yd := max(y-k-1, 0), min(y+k+1, p.h-1)
			ra := p.tmp[ya*p.w+c0 : ya*p.w+c1]
			rb := p.tmp[yb*p.w+c0 : yb*p.w+c1][:len(ra)]
			rc := p.tmp[yc*p.w+c0 : yc*p.w+c1][:len(ra)]
			rd := p.tmp[yd*p.w+c0 : yd*p.w+c1][:len(ra)]
			acc := acc[:len(ra)]
			wk, wn := p.wt[k], p.wt[k+1]
			for x, v := range ra {
				acc[x] += wk*(uint32(v)+uint32(rb[x])) + wn*(uint32(rc[x])+uint32(rd[x]))
			}
		}
		if k == p.r {
			ya, yb := max(y-k, 0), min(y+k, p.h-1)
			ra := p.tmp[ya*p.w+c0 : ya*p.w+c1]
			rb := p.tmp[yb*p.w+c0 : yb*p.w+c1][:len(ra)]
			acc := acc[:len(ra)]
			wk := p.wt[k]
			for x, v := range ra {
				acc[x] += wk * (uint32(v) + uint32(rb[x]))
			}
		}
		row := p.row(f, y)
		if p.step == 1 {
			dst := row[c0 : c0+len(acc)]
			for x, s := range acc {
				dst[x] = byte((s + 1<<19) >> 20)
			}
			continue
		}
		for x, s := range acc {
			row[(c0+x)*p.step] = byte((s + 1<<19) >> 20)
		}
	}
}

// boxRow puts the running sums of 2r+1 samples of row y into tmp.
func (p *blurPlane) boxRow(f *gpu.Frame, y int) {
	src := p.row(f, y)
	dst := p.tmp[y*p.w : (y+1)*p.w]
	r, st, w := p.r, p.step, p.w
	at := func(x int) int { return int(src[max(0, min(x, w-1))*st]) }
	s := (r + 1) * at(0)
	for k := 1; k <= r; k++ {
		s += at(k)
	}
	for x := range dst {
		dst[x] = uint16(s)
		s += at(x+r+1) - at(x-r)
	}
}

// boxColumns sums 2r+1 rows of tmp per column of [c0, c1) and writes the
// rounded means into the frame.
func (p *blurPlane) boxColumns(f *gpu.Frame, c0, c1 int) {
	if c0 >= c1 {
		return
	}
	acc := p.acc[c0:c1]
	tmpRow := func(y int) []uint16 {
		y = max(0, min(y, p.h-1))
		return p.tmp[y*p.w+c0 : y*p.w+c1]
	}
	first := tmpRow(0)
	for x, v := range first {
		acc[x] = uint32(p.r+1) * uint32(v)
	}
	for k := 1; k <= p.r; k++ {
		for x, v := range tmpRow(k) {
			acc[x] += uint32(v)
		}
	}
	m, n2 := p.m, p.n2
	for y := 0; y < p.h; y++ {
		row := p.row(f, y)
		if p.step == 1 {
			dst := row[c0 : c0+len(acc)]
			for x, s := range acc {
				dst[x] = byte((uint64(s+n2) * m) >> boxShift)
			}
		} else {
			for x, s := range acc {
				row[(c0+x)*p.step] = byte((uint64(s+n2) * m) >> boxShift)
			}
		}
		add, sub := tmpRow(y+p.r+1), tmpRow(y-p.r)
		for x := range acc {
			acc[x] += uint32(add[x]) - uint32(sub[x])
		}
	}
}
