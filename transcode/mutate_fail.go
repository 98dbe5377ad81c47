package transcode

import (
	"fmt"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/mutstream/mutstream/metrics"
)

// What a pipeline encodes in place of a frame its mutation chain failed on
// (Deps.OnError, the config's mutations.on_error). A failed frame itself
// is never encoded: a privacy op that cannot run lets nothing unmutated
// out.
const (
	// OnErrorHold encodes the last frame the chain mutated, or a black
	// frame when there is none yet (or it has another size).
	OnErrorHold = "hold"
	// OnErrorBlack encodes a black frame of the failed frame's size.
	OnErrorBlack = "black"
)

// Reasons a frame was replaced, the reason label of
// mediad_mutation_failures_total.
const (
	failConvert = "convert" // not made writable, or not converted for the ops
	failBuild   = "build"   // no chain for the frame's size and format
	failApply   = "apply"   // the chain failed on the frame
)

// ValidOnError reports whether v names an on_error policy ("" is hold).
func ValidOnError(v string) bool {
	return v == "" || v == OnErrorHold || v == OnErrorBlack
}

// substitute counts and logs (at a limited rate) a frame f the chain failed
// on, and returns what to encode instead: under OnErrorHold the last good
// mutated frame when it has f's size, else a black frame of f's size, in
// the format the mutated frames have. It never returns f; nil means not
// even a black frame could be made, and the frame is dropped.
func (m *mutator) substitute(f *astiav.Frame, reason string, err error) *astiav.Frame {
	metrics.MutationFailures.WithLabelValues(m.stream, reason).Inc()
	out, with := m.replacement(f)
	if n, ok := m.errs.allow(time.Now()); ok {
		m.log.Warn("mutation failed; frame replaced, never encoded unmutated",
			"reason", reason, "on_error", m.onError, "replaced_with", with, "err", err, "since_last_log", n)
	}
	return out
}

// replacement is substitute's frame and a word for the log.
func (m *mutator) replacement(f *astiav.Frame) (*astiav.Frame, string) {
	if m.onError != OnErrorBlack && m.hasHeld && m.held.Width() == f.Width() && m.held.Height() == f.Height() {
		return m.held, "held"
	}
	b, err := m.blackFor(f)
	if err != nil {
		m.log.Error("no black frame to replace a frame the mutation chain failed on; frame dropped", "err", err)
		metrics.DroppedFrames.WithLabelValues("mutate_failed").Inc()
		return nil, "nothing"
	}
	return b, "black"
}

// hold keeps a reference to src, a frame the chain mutated, as the last
// good one. Its buffers are never written again: the next frame is made
// writable into new ones (writable, convert).
func (m *mutator) hold(src *astiav.Frame) {
	if m.onError == OnErrorBlack {
		return
	}
	if m.held == nil {
		var err error
		if m.held, err = allocFrame(); err != nil {
			return
		}
	}
	m.held.Unref()
	m.hasHeld = m.held.Ref(src) == nil
}

// unhold forgets the last good frame.
func (m *mutator) unhold() {
	if m.held != nil {
		m.held.Unref()
	}
	m.hasHeld = false
}

// blackFor returns a black frame of f's size, in f's format where the ops
// take it (else yuv420p, which conversion gives), made once per shape.
func (m *mutator) blackFor(f *astiav.Frame) (*astiav.Frame, error) {
	pf := f.PixelFormat()
	if _, ok := gpuFormat(pf); !ok {
		pf = astiav.PixelFormatYuv420P
	}
	shape := frameShape{w: f.Width(), h: f.Height(), av: pf}
	if shape.w <= 0 || shape.h <= 0 {
		return nil, fmt.Errorf("black frame: size %dx%d", shape.w, shape.h)
	}
	if m.black != nil && m.blackOf == shape {
		return m.black, nil
	}
	free(m.black)
	m.black, m.blackOf = nil, frameShape{}
	b, err := allocFrame()
	if err != nil {
		return nil, err
	}
	b.SetWidth(shape.w)
	b.SetHeight(shape.h)
	b.SetPixelFormat(shape.av)
	b.SetColorRange(f.ColorRange())
	if err := b.AllocBuffer(0); err != nil {
		free(b)
		return nil, fmt.Errorf("black frame %dx%d %s: %w", shape.w, shape.h, shape.av, err)
	}
	if err := b.ImageFillBlack(); err != nil {
		free(b)
		return nil, fmt.Errorf("black frame %dx%d %s: %w", shape.w, shape.h, shape.av, err)
	}
	m.black, m.blackOf = b, shape
	return b, nil
}

// freeSubstitutes frees the held and black frames.
func (m *mutator) freeSubstitutes() {
	free(m.held)
	free(m.black)
	m.held, m.black, m.hasHeld = nil, nil, false
	m.blackOf = frameShape{}
}
