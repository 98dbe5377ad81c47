package gpu

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TextParams are the text op's parameters: one line of text in the bundled
// Go font, with placeholders filled in per frame, drawn in a colour over an
// optional background box and blended onto the frame at an anchor (see
// Overlay for the formulas).
//
// The box is the text's width plus TextPadding on either side, by the
// line's height plus TextPadding above and below, rounded up to even and
// cut to the frame; text wider than the frame is cut off. Where the box
// has a background, the overlay is opaque and its colour is the text
// colour over the background by the text's coverage m,
// BlendSample(bg, fg, m) (for chroma, m of the 2x2 block as ChromaAlpha
// takes it); without one, the overlay has the text colour and alpha m.
type TextParams struct {
	// Text is what to draw: 1..Limits.MaxTextRunes runes, no control
	// characters (one line). Placeholders: {clock} is the server's wall
	// clock as 15:04:05 (UTC), {pts} the frame's presentation time in
	// seconds with 3 decimals, {stream} the stream's name.
	Text string `json:"text"`
	// At is where the box sits, default "bottom-left", DefaultMargin from
	// the edges.
	At Anchor `json:"at"`
	// Size is the font's size as a fraction of the frame's height:
	// 0.01..0.5, default 0.05.
	Size float64 `json:"size"`
	// Color is the text's colour, "#rrggbb", default "#ffffff".
	Color string `json:"color"`
	// Background is the box's colour, "#rrggbb", or "" (the default) for
	// none.
	Background string `json:"background"`
	// Opacity scales the whole box: 0..1, default 1.
	Opacity float64 `json:"opacity"`
}

func init() {
	Register("text", func() Params {
		return &TextParams{At: BottomLeft, Size: 0.05, Color: "#ffffff", Opacity: 1}
	})
}

// Validate checks the fields.
func (p *TextParams) Validate(env Env) error {
	maxRunes := env.Limits.MaxTextRunes
	if maxRunes <= 0 {
		maxRunes = DefaultLimits().MaxTextRunes
	}
	if !utf8.ValidString(p.Text) {
		return Fieldf("text", "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(p.Text); n < 1 || n > maxRunes {
		return Fieldf("text", "%d characters: must be 1..%d", n, maxRunes)
	}
	if i := strings.IndexFunc(p.Text, unicode.IsControl); i >= 0 {
		c, _ := utf8.DecodeRuneInString(p.Text[i:])
		return Fieldf("text", "control character %U at byte %d: the text is one line", c, i)
	}
	if err := p.At.Validate("at"); err != nil {
		return err
	}
	if !(p.Size >= 0.01 && p.Size <= 0.5) {
		return Fieldf("size", "%v: must be in [0.01, 0.5]", p.Size)
	}
	if _, _, _, err := ParseColor(p.Color); err != nil {
		return Fieldf("color", "%v", err)
	}
	if p.Background != "" {
		if _, _, _, err := ParseColor(p.Background); err != nil {
			return Fieldf("background", "%v (or \"\" for none)", err)
		}
	}
	if !(p.Opacity >= 0 && p.Opacity <= 1) {
		return Fieldf("opacity", "%v: must be in [0, 1]", p.Opacity)
	}
	return nil
}

// AppendText appends the text with its placeholders filled in for a frame
// to dst. Braces that open no placeholder are kept as they are.
func (p *TextParams) AppendText(dst []byte, info FrameInfo) []byte {
	s := p.Text
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "{clock}"):
			dst = info.Wall.UTC().AppendFormat(dst, "15:04:05")
			s = s[len("{clock}"):]
		case strings.HasPrefix(s, "{pts}"):
			dst = strconv.AppendFloat(dst, info.PTS.Seconds(), 'f', 3, 64)
			s = s[len("{pts}"):]
		case strings.HasPrefix(s, "{stream}"):
			dst = append(dst, info.Stream...)
			s = s[len("{stream}"):]
		default:
			dst = append(dst, '{')
			s = s[1:]
		}
	}
}

// PixelSize is the font's size in pixels on a frame height pixels high:
// round(Size * height), at least 2.
func (p *TextParams) PixelSize(height int) int {
	return max(2, int(math.Round(p.Size*float64(height))))
}

// TextPadding is the gap between the text and its box's edges for a font
// px pixels high: px/4 rounded to even.
func TextPadding(px int) int { return 2 * ((px + 4) / 8) }

// TextRenderer makes the text op's overlay for frames of one size: it
// fills in the placeholders, and when the string differs from the last
// frame's, renders it (TextMask) and composes the box's Y, U, V and alpha
// into one preallocated Overlay. A string that changes once a second is
// rendered once a second; with glyphs already seen, rendering allocates
// nothing. Used by one goroutine at a time.
type TextRenderer struct {
	p         *TextParams
	w, h      int
	pad       int
	mask      *TextMask
	ov        *Overlay
	fg, bg    [3]byte // Y, U, V
	hasBg     bool
	opacity   int
	cur, last []byte
	x, y      int
	drawn     bool
}

// TextRendererFor is NewTextRenderer for a backend's text op: p must be
// *TextParams and format YUV420P or NV12.
func TextRendererFor(p Params, w, h int, format PixelFormat) (*TextRenderer, error) {
	tp, ok := p.(*TextParams)
	if !ok {
		return nil, fmt.Errorf("text: parameters are %T", p)
	}
	if format != YUV420P && format != NV12 {
		return nil, fmt.Errorf("text: pixel format %v not supported", format)
	}
	return NewTextRenderer(tp, w, h)
}

// NewTextRenderer prepares p for w x h frames.
func NewTextRenderer(p *TextParams, w, h int) (*TextRenderer, error) {
	if w < 2 || h < 2 {
		return nil, fmt.Errorf("text: frame %dx%d too small", w, h)
	}
	r := &TextRenderer{p: p, w: w, h: h, opacity: OpacityLevel(p.Opacity)}
	px := p.PixelSize(h)
	r.pad = TextPadding(px)
	fr, fgc, fb, err := ParseColor(p.Color)
	if err != nil {
		return nil, fmt.Errorf("text: color %w", err)
	}
	r.fg[0], r.fg[1], r.fg[2] = RGBToYUV(fr, fgc, fb)
	if p.Background != "" {
		br, bgc, bb, err := ParseColor(p.Background)
		if err != nil {
			return nil, fmt.Errorf("text: background %w", err)
		}
		r.bg[0], r.bg[1], r.bg[2] = RGBToYUV(br, bgc, bb)
		r.hasBg = true
	}
	r.mask, err = NewTextMask(px, max(w-2*r.pad, 2))
	if err != nil {
		return nil, fmt.Errorf("text: %w", err)
	}
	r.mask.Warm("0123456789:.-" + p.Text)
	r.ov = NewOverlayBuffers(w&^1, min((r.mask.H+2*r.pad+1)&^1, h&^1))
	r.cur = make([]byte, 0, 4*len(p.Text)+64)
	r.last = make([]byte, 0, cap(r.cur))
	return r, nil
}

// Opacity is the opacity level to blend the overlay with (OpacityLevel).
func (r *TextRenderer) Opacity() int { return r.opacity }

// Update returns the overlay for the frame described by info and where it
// goes; changed says whether the overlay differs from the last call's (a
// GPU backend uploads it again only then). The overlay is the same object
// on every call, redrawn in place.
func (r *TextRenderer) Update(info FrameInfo) (ov *Overlay, x, y int, changed bool) {
	r.cur = r.p.AppendText(r.cur[:0], info)
	if r.drawn && bytes.Equal(r.cur, r.last) {
		return r.ov, r.x, r.y, false
	}
	r.last = append(r.last[:0], r.cur...)
	r.drawn = true
	tw := r.mask.Render(r.cur)
	r.compose(tw)
	r.x, r.y = r.p.At.Place(r.w, r.h, r.ov.W, r.ov.H, DefaultMargin)
	return r.ov, r.x, r.y, true
}

// compose fills the overlay's box for text tw pixels wide.
func (r *TextRenderer) compose(tw int) {
	ov, m, pad := r.ov, r.mask, r.pad
	ov.W = min((tw+2*pad+1)&^1, r.w&^1)
	ov.W = max(ov.W, 2)
	ov.H = min((m.H+2*pad+1)&^1, r.h&^1)
	for j := range ov.H {
		ys := ov.Y[j*ov.Stride : j*ov.Stride+ov.W]
		as := ov.A[j*ov.Stride : j*ov.Stride+ov.W]
		for i := range ys {
			c := m.At(i-pad, j-pad)
			if r.hasBg {
				ys[i] = BlendSample(r.bg[0], r.fg[0], int(c))
				as[i] = 255
			} else {
				ys[i] = r.fg[0]
				as[i] = c
			}
		}
	}
	for j := range ov.H / 2 {
		us := ov.U[j*ov.CStride : j*ov.CStride+ov.W/2]
		vs := ov.V[j*ov.CStride : j*ov.CStride+ov.W/2]
		for i := range us {
			if !r.hasBg {
				us[i], vs[i] = r.fg[1], r.fg[2]
				continue
			}
			x, y := 2*i-pad, 2*j-pad
			c := ChromaAlpha(m.At(x, y), m.At(x+1, y), m.At(x, y+1), m.At(x+1, y+1))
			us[i] = BlendSample(r.bg[1], r.fg[1], c)
			vs[i] = BlendSample(r.bg[2], r.fg[2], c)
		}
	}
}

// Close frees the font face.
func (r *TextRenderer) Close() error { return r.mask.Close() }
