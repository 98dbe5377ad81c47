package transcode

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/mutstream/mutstream/gpu"
)

// MeasureChain builds specs on b for w x h frames, applies the chain runs
// times to a synthetic yuv420p picture (a gradient with noise) and returns
// the median time per frame, with the name of the backend that ran it (b's
// fallback for a chain b's primary cannot run). The chain is closed before
// it returns. The API uses it to refuse chains that do not fit in a
// frame's time.
func MeasureChain(b gpu.Backend, specs []gpu.Spec, w, h int, runs int) (d time.Duration, backend string, err error) {
	if runs < 1 {
		return 0, "", fmt.Errorf("measure chain: runs = %d, want at least 1", runs)
	}
	if w <= 0 || h <= 0 || w > 16384 || h > 16384 {
		return 0, "", fmt.Errorf("measure chain: frame size %dx%d must be 1..16384 on each side", w, h)
	}
	c, err := b.NewChain(specs, w, h, gpu.YUV420P)
	if err != nil {
		return 0, "", fmt.Errorf("measure chain on %s: %w", b.Name(), err)
	}
	defer c.Close()
	backend = gpu.ChainBackend(b, c)
	f := syntheticFrame(w, h)
	times := make([]time.Duration, runs)
	info := gpu.FrameInfo{Stream: "measure"}
	for i := range times {
		info.PTS = time.Duration(i) * time.Second / 30
		info.Wall = time.Now()
		start := time.Now()
		if err := c.Apply(f, info); err != nil {
			return 0, "", fmt.Errorf("measure chain on %s: %w", backend, err)
		}
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	d = times[runs/2]
	if d <= 0 {
		d = time.Nanosecond // a chain of no ops still costs something
	}
	return d, backend, nil
}

// syntheticFrame returns a w x h yuv420p picture: a diagonal luma gradient
// and chroma ramps, with a little noise so that content-aware ops work.
func syntheticFrame(w, h int) *gpu.Frame {
	f := gpu.NewFrame(gpu.YUV420P, w, h)
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		row := f.Planes[0][y*f.Strides[0]:]
		for x := 0; x < w; x++ {
			v := 16 + (x+y)*219/(w+h) + rng.IntN(9) - 4
			row[x] = byte(min(max(v, 0), 255))
		}
	}
	cw, ch := gpu.ChromaSize(w, h)
	for i := 1; i <= 2; i++ {
		for y := 0; y < ch; y++ {
			row := f.Planes[i][y*f.Strides[i]:]
			for x := 0; x < cw; x++ {
				v := 64 + (x*(2-i)+y*(i-1))*128/max(cw, ch) + rng.IntN(5) - 2
				row[x] = byte(min(max(v, 0), 255))
			}
		}
	}
	return f
}
