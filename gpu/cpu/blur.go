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
// edges) in each plane of format: Y, then U and V.
func rectSpans(format gpu.PixelFormat, x0, y0, x1, y1 int) ([3]span, error) {
	cx, cy, cw, ch := x0/2, y0/2, (x1-x0)/2, (y1-y0)/2
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
	vertical bool // the pass that Band runs
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
	pool.Run(op.planes[0].h, op)
	op.vertical = true
	pool.Run(op.planes[0].w, op)
	op.f = nil
	return nil
}

// Band runs the current pass over luma rows (row pass) or columns (column
// pass) [a, b), and over the chroma rows or columns under them.
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
			for y := lo; y < hi; y++ {
				p.gaussRow(op.f, y)
			}
		case op.box:
			p.boxColumns(op.f, lo, hi)
		default:
			p.gaussColumns(op.f, lo, hi)
		}
	}
}

// gaussRow filters row y of the span into tmp, in 8.8 fixed point.
func (p *blurPlane) gaussRow(f *gpu.Frame, y int) {
	src := p.row(f, y)
	dst := p.tmp[y*p.w : (y+1)*p.w]
	r, st, wt, w := p.r, p.step, p.wt, p.w
	at := func(x int) uint32 { return uint32(src[max(0, min(x, w-1))*st]) }
	edge := func(x int) {
		s := wt[0] * at(x)
		for k := 1; k <= r; k++ {
			s += wt[k] * (at(x-k) + at(x+k))
		}
		dst[x] = uint16((s + 8) >> 4)
	}
	lo := min(r, w)
	hi := max(w-r, lo)
	for x := 0; x < lo; x++ {
		edge(x)
	}
	if st == 1 {
		for x := lo; x < hi; x++ {
			s := wt[0] * uint32(src[x])
			l, rr := src[x-r:x], src[x+1:x+r+1]
			for k := 1; k <= r; k++ {
				s += wt[k] * (uint32(l[r-k]) + uint32(rr[k-1]))
			}
			dst[x] = uint16((s + 8) >> 4)
		}
	} else {
		for x := lo; x < hi; x++ {
			c := x * st
			s := wt[0] * uint32(src[c])
			for k := 1; k <= r; k++ {
				s += wt[k] * (uint32(src[c-k*st]) + uint32(src[c+k*st]))
			}
			dst[x] = uint16((s + 8) >> 4)
		}
	}
	for x := hi; x < w; x++ {
		edge(x)
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
		for k := 1; k <= p.r; k++ {
			ya, yb := max(y-k, 0), min(y+k, p.h-1)
			ra := p.tmp[ya*p.w+c0 : ya*p.w+c1]
			rb := p.tmp[yb*p.w+c0 : yb*p.w+c1]
			rb = rb[:len(ra)]
			acc := acc[:len(ra)]
			wk := p.wt[k]
			for x, v := range ra {
				acc[x] += wk * (uint32(v) + uint32(rb[x]))
			}
		}
		p.store(f, y, c0, acc, func(s uint32) byte { return byte((s + 1<<19) >> 20) })
	}
}

// store writes the column pass's sums for row y, columns from c0.
func (p *blurPlane) store(f *gpu.Frame, y, c0 int, acc []uint32, out func(uint32) byte) {
	row := p.row(f, y)
	if p.step == 1 {
		dst := row[c0 : c0+len(acc)]
		for x, s := range acc {
			dst[x] = out(s)
		}
		return
	}
	for x, s := range acc {
		row[(c0+x)*p.step] = out(s)
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
	div := func(s uint32) byte { return byte((uint64(s+n2) * m) >> boxShift) }
	for y := 0; y < p.h; y++ {
		p.store(f, y, c0, acc, div)
		add, sub := tmpRow(y+p.r+1), tmpRow(y-p.r)
		for x := range acc {
			acc[x] += uint32(add[x]) - uint32(sub[x])
		}
	}
}
