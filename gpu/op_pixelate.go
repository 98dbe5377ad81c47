package gpu

// PixelateParams are the pixelate op's parameters. Rect is cut into blocks
// of Block x Block luma pixels starting at its top-left corner (blocks at
// its right and bottom edges may be smaller); every sample of a block
// becomes the block's mean, round(sum/count) = (sum + count/2) / count in
// integers. Chroma uses blocks of Block/2 samples, covering the same area.
type PixelateParams struct {
	// Rect is the area to pixelate, default the whole frame.
	Rect Rect `json:"rect"`
	// Block is the block size in luma pixels: even, 2..256, default 16.
	Block int `json:"block"`
}

func init() {
	Register("pixelate", func() Params { return &PixelateParams{Rect: FullFrame, Block: 16} })
}

// Validate checks the rect and block size.
func (p *PixelateParams) Validate(Env) error {
	if err := p.Rect.Validate("rect"); err != nil {
		return err
	}
	if p.Block < 2 || p.Block > 256 || p.Block%2 != 0 {
		return Fieldf("block", "%d: must be even, 2..256", p.Block)
	}
	return nil
}
