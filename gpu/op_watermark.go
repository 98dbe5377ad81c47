package gpu

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// WatermarkParams are the watermark op's parameters: a PNG picture from the
// assets directory, scaled to a fraction of the frame's width (keeping its
// aspect ratio), converted to Y, U, V and alpha once per chain, and blended
// onto every frame at an anchor with an opacity (see Overlay for the
// formulas).
type WatermarkParams struct {
	// Image is the PNG file's name inside the assets directory: relative,
	// without "..". Required.
	Image string `json:"image"`
	// At is where the picture sits, default "top-right", DefaultMargin
	// from the edges.
	At Anchor `json:"at"`
	// Opacity scales the picture's alpha: 0..1, default 1.
	Opacity float64 `json:"opacity"`
	// Scale is the picture's width as a fraction of the frame's width:
	// 0.01..1, default 0.15.
	Scale float64 `json:"scale"`

	img *image.NRGBA // the decoded picture, loaded by Validate
}

func init() {
	Register("watermark", func() Params { return &WatermarkParams{At: TopRight, Opacity: 1, Scale: 0.15} })
}

// Validate checks the fields and loads the picture: the file must exist
// under env.AssetsDir, hold at most env.Limits.MaxImageBytes and be a PNG
// of at most env.Limits.MaxImagePixels pixels.
func (p *WatermarkParams) Validate(env Env) error {
	if err := p.At.Validate("at"); err != nil {
		return err
	}
	if !(p.Opacity >= 0 && p.Opacity <= 1) {
		return Fieldf("opacity", "%v: must be in [0, 1]", p.Opacity)
	}
	if !(p.Scale >= 0.01 && p.Scale <= 1) {
		return Fieldf("scale", "%v: must be in [0.01, 1]", p.Scale)
	}
	img, err := loadPNG(env, p.Image)
	if err != nil {
		return err
	}
	p.img = img
	return nil
}

// Picture returns the picture Validate loaded, with straight alpha, or
// nil before a successful Validate.
func (p *WatermarkParams) Picture() *image.NRGBA { return p.img }

// Size returns the picture's size on a w x h frame: Scale * w wide, as
// tall as its aspect ratio makes it, shrunk to fit the frame's height,
// both even and at least 2.
func (p *WatermarkParams) Size(w, h int) (ow, oh int, err error) {
	if p.img == nil {
		return 0, 0, errors.New("watermark: the picture is not loaded (Validate first)")
	}
	iw, ih := float64(p.img.Rect.Dx()), float64(p.img.Rect.Dy())
	fw := p.Scale * float64(w)
	fh := fw * ih / iw
	if fh > float64(h) {
		fw, fh = fw*float64(h)/fh, float64(h)
	}
	ow = min(max(2, 2*int(math.Round(fw/2))), w&^1)
	oh = min(max(2, 2*int(math.Round(fh/2))), h&^1)
	return ow, oh, nil
}

// Overlay returns the picture scaled (ScaleNRGBA) for a w x h frame and
// converted (NewOverlay), and where it goes (Anchor.Place).
func (p *WatermarkParams) Overlay(w, h int) (ov *Overlay, x, y int, err error) {
	ow, oh, err := p.Size(w, h)
	if err != nil {
		return nil, 0, 0, err
	}
	ov, err = NewOverlay(ScaleNRGBA(p.img, ow, oh))
	if err != nil {
		return nil, 0, 0, err
	}
	x, y = p.At.Place(w, h, ow, oh, DefaultMargin)
	return ov, x, y, nil
}

// loadPNG reads and decodes the PNG name inside env.AssetsDir, within the
// limits; errors are FieldErrors on "image".
func loadPNG(env Env, name string) (*image.NRGBA, error) {
	if name == "" {
		return nil, Fieldf("image", "missing: the name of a PNG file in the assets directory")
	}
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return nil, Fieldf("image", "%q: must not contain \"..\"", name)
		}
	}
	if filepath.IsAbs(name) || strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) || !filepath.IsLocal(name) {
		return nil, Fieldf("image", "%q: must be a relative name inside the assets directory", name)
	}
	if env.AssetsDir == "" {
		return nil, Fieldf("image", "%q: no assets directory is configured", name)
	}
	f, err := os.OpenInRoot(env.AssetsDir, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, Fieldf("image", "%q: no such file in the assets directory", name)
		}
		return nil, Fieldf("image", "%q: %v", name, err)
	}
	defer f.Close()
	limit := env.Limits.MaxImageBytes
	if limit <= 0 {
		limit = DefaultLimits().MaxImageBytes
	}
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, Fieldf("image", "%q: not a regular file", name)
	} else if err == nil && st.Size() > limit {
		return nil, Fieldf("image", "%q is %d bytes: at most %d", name, st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, Fieldf("image", "%q: %v", name, err)
	}
	if int64(len(data)) > limit {
		return nil, Fieldf("image", "%q is more than %d bytes", name, limit)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, Fieldf("image", "%q is not a PNG picture: %v", name, err)
	}
	maxPix := env.Limits.MaxImagePixels
	if maxPix <= 0 {
		maxPix = DefaultLimits().MaxImagePixels
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, Fieldf("image", "%q is %dx%d: empty", name, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPix) {
		return nil, Fieldf("image", "%q is %dx%d = %d pixels: at most %d", name, cfg.Width, cfg.Height, int64(cfg.Width)*int64(cfg.Height), maxPix)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, Fieldf("image", "%q is not a valid PNG picture: %v", name, err)
	}
	return ToNRGBA(img), nil
}
