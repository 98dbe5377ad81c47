package gpu

import (
	"fmt"
	"math"
)

// StampParams are the stamp op's parameters. The op draws the server's
// wall clock (FrameInfo.Wall, in ms since the epoch) as the block code of
// stampcode.go, in exactly the layout of the publisher page's clock test
// source (web/assets/clock.js), so that the watch page's latency meter
// (?measure=1) reads it and measures glass-to-glass latency from the
// server to the viewer:
//
//   - rows [0, StampBandRows) get luma StampGrey and chroma 128: the band;
//   - blocks i = 0..43 cover columns [BlockEdge(i), BlockEdge(i+1)) and
//     rows BlockRows(), luma StampWhite for a 1 and StampBlack for a 0.
//
// A frame whose wall time has no code (zero, or outside 0..MaxStamp ms)
// gets the grey band only, which the meter counts as unreadable.
type StampParams struct {
	// At is where the code sits. The reader looks for it in the top
	// sixth of the picture, so "top" is the only value, and the default.
	At Anchor `json:"at"`
}

func init() {
	Register("stamp", func() Params { return &StampParams{At: Top} })
}

// Validate checks the anchor.
func (p *StampParams) Validate(Env) error {
	if p.At != Top {
		return Fieldf("at", "%q: the stamp is read from the top of the picture; only \"top\" is supported", string(p.At))
	}
	return nil
}

// StampBandRows is the number of rows the stamp op covers in a frame of
// the given height: the band of height/6 rounded up to even (so that
// chroma covers the same area), at most the frame's height.
func StampBandRows(height int) int {
	rows := (int(math.Ceil(float64(height)/6)) + 1) &^ 1
	return min(max(rows, 2), height&^1)
}

// StampLayout is where the stamp op draws in a frame, clamped to it.
type StampLayout struct {
	Rows     int                  // band rows, even (StampBandRows)
	Edges    [StampBlocks + 1]int // block column edges
	Top, Bot int                  // block rows
}

// StampLayoutFor checks a backend's stamp parameters (p must be
// *StampParams, format YUV420P or NV12) and lays the stamp out for
// w x h frames.
func StampLayoutFor(p Params, w, h int, format PixelFormat) (StampLayout, error) {
	if _, ok := p.(*StampParams); !ok {
		return StampLayout{}, fmt.Errorf("stamp: parameters are %T", p)
	}
	if format != YUV420P && format != NV12 {
		return StampLayout{}, fmt.Errorf("stamp: pixel format %v not supported", format)
	}
	g := NewStampGeometry(w, h)
	l := StampLayout{Rows: StampBandRows(h)}
	for i := range l.Edges {
		l.Edges[i] = min(max(g.BlockEdge(i), 0), w)
	}
	l.Top, l.Bot = g.BlockRows()
	l.Top, l.Bot = min(max(l.Top, 0), l.Rows), min(max(l.Bot, 0), l.Rows)
	return l, nil
}
