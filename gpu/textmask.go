package gpu

import (
	"fmt"
	"image"
	"sync"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// goRegular is the bundled Go font, parsed once for the whole process
// (a parsed font is safe for concurrent use; faces are not).
var goRegular = sync.OnceValues(func() (*opentype.Font, error) {
	return opentype.Parse(goregular.TTF)
})

// TextMask renders one line of text into an 8-bit coverage mask (0 is
// empty, 255 full), in the bundled Go font at a pixel size. Its buffer is
// allocated once, at the widest it may be; glyphs are rasterised once per
// rune and kept, so rendering a string made of runes seen before allocates
// nothing. A TextMask is used by one goroutine at a time.
type TextMask struct {
	// Pix holds the mask: H rows of MaxW samples (Stride = MaxW); the
	// last rendered string covers columns [0, W).
	Pix []byte
	// MaxW is the widest mask; text beyond it is cut off.
	MaxW int
	// H is the line's height, Ascent + the font's descent, in pixels.
	H int
	// Ascent is the baseline's row.
	Ascent int
	// W is the width of the last rendered string.
	W int

	face   font.Face
	glyphs map[rune]*glyph
	dirty  int // columns [0, dirty) may hold coverage
}

// glyph is one rune's coverage, relative to the pen on the baseline.
type glyph struct {
	x, y, w, h int // top-left corner relative to the pen, and size
	pix        []byte
	adv        fixed.Int26_6
}

// NewTextMask prepares a mask for text px pixels high (the font's em
// size) and at most maxW pixels wide.
func NewTextMask(px, maxW int) (*TextMask, error) {
	if px < 1 || maxW < 1 {
		return nil, fmt.Errorf("text mask %d px, %d wide: both must be > 0", px, maxW)
	}
	f, err := goRegular()
	if err != nil {
		return nil, fmt.Errorf("the Go font: %w", err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("the Go font at %d px: %w", px, err)
	}
	met := face.Metrics()
	m := &TextMask{MaxW: maxW, Ascent: met.Ascent.Ceil(), face: face, glyphs: map[rune]*glyph{}}
	m.H = max(m.Ascent+met.Descent.Ceil(), 1)
	m.Pix = make([]byte, m.MaxW*m.H)
	return m, nil
}

// Warm rasterises the runes of s ahead of use, so that rendering them
// later allocates nothing.
func (m *TextMask) Warm(s string) {
	for _, r := range s {
		m.glyph(r)
	}
}

// glyph returns r's coverage, rasterising it the first time.
func (m *TextMask) glyph(r rune) *glyph {
	if g, ok := m.glyphs[r]; ok {
		return g
	}
	g := &glyph{}
	dr, mask, mp, adv, _ := m.face.Glyph(fixed.Point26_6{}, r)
	g.adv = adv
	if a, ok := mask.(*image.Alpha); ok && !dr.Empty() {
		g.x, g.y, g.w, g.h = dr.Min.X, dr.Min.Y, dr.Dx(), dr.Dy()
		g.pix = make([]byte, g.w*g.h)
		for j := range g.h {
			src := a.Pix[a.PixOffset(mp.X, mp.Y+j):]
			copy(g.pix[j*g.w:(j+1)*g.w], src[:g.w])
		}
	}
	m.glyphs[r] = g
	return g
}

// Render draws s (UTF-8; invalid bytes draw as U+FFFD) from the left edge,
// on the baseline at row Ascent, with kerning, and returns its width W
// (at most MaxW). Overlapping glyphs keep the larger coverage.
func (m *TextMask) Render(s []byte) int {
	for y := range m.H {
		clear(m.Pix[y*m.MaxW : y*m.MaxW+m.dirty])
	}
	var pen fixed.Int26_6
	prev := rune(-1)
	w := 0
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		s = s[n:]
		if prev >= 0 {
			pen += m.face.Kern(prev, r)
		}
		prev = r
		g := m.glyph(r)
		x0 := pen.Round() + g.x
		if x0 >= m.MaxW {
			break
		}
		m.blit(g, x0, m.Ascent+g.y)
		pen += g.adv
		w = max(w, min(pen.Ceil(), m.MaxW), min(x0+g.w, m.MaxW))
	}
	m.W = w
	m.dirty = w
	return w
}

// blit lays g's coverage at (x0, y0) of the mask, clipped to it.
func (m *TextMask) blit(g *glyph, x0, y0 int) {
	for j := max(0, -y0); j < g.h && y0+j < m.H; j++ {
		src := g.pix[j*g.w : (j+1)*g.w]
		dst := m.Pix[(y0+j)*m.MaxW : (y0+j+1)*m.MaxW]
		for i := max(0, -x0); i < g.w && x0+i < m.MaxW; i++ {
			if v := src[i]; v > dst[x0+i] {
				dst[x0+i] = v
			}
		}
	}
}

// At returns the coverage at column x and row y, 0 outside the mask.
func (m *TextMask) At(x, y int) byte {
	if x < 0 || y < 0 || x >= m.MaxW || y >= m.H {
		return 0
	}
	return m.Pix[y*m.MaxW+x]
}

// Close frees the font face.
func (m *TextMask) Close() error { return m.face.Close() }
