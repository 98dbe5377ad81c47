package gpu

import "math"

// Blur kinds.
const (
	BlurGaussian = "gaussian"
	BlurBox      = "box"
)

// HardMaxBlurRadius bounds the blur radius whatever the configured limit:
// the box filter's row sums (255 * (2*radius+1)) must fit in 16 bits.
const HardMaxBlurRadius = 128

// BlurParams are the blur op's parameters. Luma is blurred with Radius;
// chroma, at half resolution, with (Radius+1)/2. Inside Rect, the filter
// reads only pixels of the rect (edges clamp to the rect); outside it,
// nothing changes.
//
// Both kinds are separable, first along rows into a 16-bit buffer, then
// along columns, in integer arithmetic:
//
//	gaussian: weights w[k], k in -r..r, are round(4096 * g(k)/sum(g)) with
//	          g(k) = exp(-k*k / (2*sigma*sigma)), sigma = r/2, then made to
//	          sum to exactly 4096 (see GaussianWeights, which both backends
//	          use).
//	          row pass: t = (sum w[k]*p[x+k] + 8) >> 4
//	          column pass: out = (sum w[k]*t[y+k] + (1<<19)) >> 20
//	box:      row pass: t = sum of p[x-r..x+r]
//	          column pass: out = (sum of t[y-r..y+r] + n/2) / n, n = (2r+1)^2
//
// where indices outside the rect clamp to its nearest edge.
type BlurParams struct {
	// Rect is the area to blur, default the whole frame.
	Rect Rect `json:"rect"`
	// Radius is the luma radius in pixels: 1..limits.max_blur_radius
	// (at most 128), default 12.
	Radius int `json:"radius"`
	// Kind is "gaussian" (default) or "box" (stronger for the same radius).
	Kind string `json:"kind"`
}

func init() {
	Register("blur", func() Params { return &BlurParams{Rect: FullFrame, Radius: 12, Kind: BlurGaussian} })
}

// Validate checks the rect, radius and kind.
func (p *BlurParams) Validate(env Env) error {
	if err := p.Rect.Validate("rect"); err != nil {
		return err
	}
	limit := env.Limits.MaxBlurRadius
	if limit <= 0 {
		limit = DefaultLimits().MaxBlurRadius
	}
	limit = min(limit, HardMaxBlurRadius)
	if p.Radius < 1 || p.Radius > limit {
		return Fieldf("radius", "%d: must be 1..%d", p.Radius, limit)
	}
	if p.Kind != BlurGaussian && p.Kind != BlurBox {
		return Fieldf("kind", "%q: must be %q or %q", p.Kind, BlurGaussian, BlurBox)
	}
	return nil
}

// GaussianWeights returns the integer weights w[0..radius] of the gaussian
// blur documented on BlurParams (w[k] is the weight of offsets k and -k);
// w[0] + 2*(w[1] + ... + w[radius]) is exactly 4096.
func GaussianWeights(radius int) []uint32 {
	radius = max(radius, 0)
	sigma := math.Max(float64(radius)/2, 0.5)
	g := make([]float64, radius+1)
	sum := 0.0
	for k := range g {
		g[k] = math.Exp(-float64(k*k) / (2 * sigma * sigma))
		if k == 0 {
			sum += g[k]
		} else {
			sum += 2 * g[k]
		}
	}
	w := make([]int, radius+1)
	total := 0
	for k := range w {
		w[k] = int(math.Round(4096 * g[k] / sum))
		if k == 0 {
			total += w[k]
		} else {
			total += 2 * w[k]
		}
	}
	// Spread the rounding error: its odd part on the centre, the rest
	// one step per pair of taps, nearest the centre first.
	e := 4096 - total
	if e%2 != 0 {
		w[0] += e % 2
		e -= e % 2
	}
	for k := 1; e != 0 && k <= radius; k++ {
		if e > 0 {
			w[k]++
			e -= 2
		} else {
			w[k]--
			e += 2
		}
	}
	w[0] += e // only where radius is too small to take it all
	out := make([]uint32, radius+1)
	for k, v := range w {
		out[k] = uint32(max(v, 0))
	}
	return out
}
