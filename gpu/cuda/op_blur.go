//go:build cuda

package cuda

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

// blurOp is the separable blur of gpu.BlurParams: conv_h into a 32-bit
// temporary, conv_v back into the plane, per plane. The weights and the
// two divisors reproduce the CPU's integer arithmetic exactly:
//
//	gaussian: weights from gpu.GaussianWeights (sum 4096),
//	          row (s + 8) >> 4, column (s + 1<<19) >> 20
//	box:      weights 1, row sum as it is, column (s + n/2) / n, n = (2r+1)^2
type blurOp struct {
	regions []region
	// Per region: the weights (2r+1 ints), the radius and the divisors.
	weights      []devBuf
	radius       []int
	hnorm, vnorm []int
	tmp          devBuf
}

func newBlur(p gpu.Params, w, h int, format gpu.PixelFormat) (op, error) {
	bp, ok := p.(*gpu.BlurParams)
	if !ok {
		return nil, fmt.Errorf("blur: parameters are %T", p)
	}
	if bp.Radius < 1 || bp.Radius > gpu.HardMaxBlurRadius {
		return nil, fmt.Errorf("blur: radius %d: must be 1..%d", bp.Radius, gpu.HardMaxBlurRadius)
	}
	x0, y0, x1, y1 := bp.Rect.Pixels(w, h)
	o := &blurOp{regions: regions(format, x0, y0, x1, y1)}
	tmpInts := 0
	for i, rg := range o.regions {
		r := bp.Radius
		if i > 0 {
			r = (bp.Radius + 1) / 2
		}
		wt := make([]int32, 2*r+1)
		hn, vn := 16, 1<<20
		if bp.Kind == gpu.BlurBox {
			for k := range wt {
				wt[k] = 1
			}
			hn, vn = 1, (2*r+1)*(2*r+1)
		} else {
			g := gpu.GaussianWeights(r)
			for k := -r; k <= r; k++ {
				wt[k+r] = int32(g[max(k, -k)])
			}
		}
		d, err := allocInt32(wt)
		if err != nil {
			o.close()
			return nil, fmt.Errorf("blur: %w", err)
		}
		o.weights = append(o.weights, d)
		o.radius = append(o.radius, r)
		o.hnorm = append(o.hnorm, hn)
		o.vnorm = append(o.vnorm, vn)
		tmpInts = max(tmpInts, rg.w()*rg.h()*rg.comps)
	}
	d, err := alloc(4 * int64(tmpInts))
	if err != nil {
		o.close()
		return nil, fmt.Errorf("blur: %w", err)
	}
	o.tmp = d
	return o, nil
}

func (o *blurOp) apply(l *launcher, p *planes, _ gpu.FrameInfo) error {
	for i, rg := range o.regions {
		if err := l.grid2D("conv_h", rg.w(), rg.h(), rg.comps,
			ptrArg(p.ptr[rg.plane], 0), intArg(p.pitch[rg.plane]), intArg(rg.step),
			intArg(rg.x0), intArg(rg.y0), intArg(rg.x1), intArg(rg.y1),
			ptrArg(o.weights[i].ptr, 0), intArg(o.radius[i]), intArg(o.hnorm[i]), ptrArg(o.tmp.ptr, 0)); err != nil {
			return err
		}
		if err := l.grid2D("conv_v", rg.w(), rg.h(), rg.comps,
			ptrArg(p.ptr[rg.plane], 0), intArg(p.pitch[rg.plane]), intArg(rg.step),
			intArg(rg.x0), intArg(rg.y0), intArg(rg.x1), intArg(rg.y1),
			ptrArg(o.weights[i].ptr, 0), intArg(o.radius[i]), intArg(o.vnorm[i]), ptrArg(o.tmp.ptr, 0)); err != nil {
			return err
		}
	}
	return nil
}

func (o *blurOp) close() {
	for i := range o.weights {
		o.weights[i].free()
	}
	o.weights = nil
	o.tmp.free()
}
