//go:build cuda

package cuda

import (
	"fmt"

	"github.com/mutstream/mutstream/gpu"
)

// textOp is gpu.TextParams: a gpu.TextRenderer draws the box's overlay on
// the host, exactly as for the CPU backend, and only when the text with its
// placeholders filled in changes (a {clock} once a second, a {pts} every
// frame); the overlay is then uploaded again, and blend_plane lays it on
// every frame as it does the watermark.
type textOp struct {
	r     *gpu.TextRenderer
	ov    *overlayOp
	stale bool // an upload failed: the device buffers may not hold the overlay
}

func newText(p gpu.Params, w, h int, format gpu.PixelFormat) (op, error) {
	r, err := gpu.TextRendererFor(p, w, h, format)
	if err != nil {
		return nil, err
	}
	// Draw once, so that the device buffers, allocated at the overlay's
	// full size, start out holding what the renderer holds; a text with
	// no placeholders is never drawn again.
	ov, x, y, _ := r.Update(gpu.FrameInfo{})
	o, err := newOverlayOp(ov, x, y, r.Opacity())
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("text: %w", err)
	}
	return &textOp{r: r, ov: o}, nil
}

func (o *textOp) apply(l *launcher, p *planes, info gpu.FrameInfo) error {
	if o.ov.level <= 0 {
		return nil
	}
	// The renderer redraws the one overlay o.ov was built on, in place.
	_, x, y, changed := o.r.Update(info)
	if changed || o.stale {
		err := o.ov.reload(x, y)
		if o.stale = err != nil; o.stale {
			return fmt.Errorf("text: %w", err)
		}
	}
	if err := o.ov.apply(l, p, info); err != nil {
		return fmt.Errorf("text: %w", err)
	}
	return nil
}

func (o *textOp) close() {
	o.ov.close()
	_ = o.r.Close()
}
