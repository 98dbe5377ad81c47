package gpu

import "math"

// ColorParams are the color op's parameters. The op maps every sample
// through two 256-entry tables, built once per chain:
//
//	luma:   v = (contrast*(i-128) + 128)/255 + brightness
//	        Y' = round(255 * pow(clamp(v, 0, 1), 1/gamma))
//	chroma: C' = clamp(round(128 + saturation*(i-128)), 0, 255)
//
// for every input sample i in 0..255 (code values, full range; rounding
// halves away from zero). The defaults make it the identity.
type ColorParams struct {
	// Brightness is added to luma, as a fraction of full scale: -1..1,
	// default 0 (0.1 adds about 25 code values).
	Brightness float64 `json:"brightness"`
	// Contrast scales luma around mid grey 128: 0..4, default 1.
	Contrast float64 `json:"contrast"`
	// Saturation scales chroma around 128: 0..4, default 1 (0 is grey).
	Saturation float64 `json:"saturation"`
	// Gamma bends luma: out = in^(1/gamma) on 0..1; 0.1..10, default 1
	// (above 1 lifts the shadows).
	Gamma float64 `json:"gamma"`
}

func init() {
	Register("color", func() Params { return &ColorParams{Contrast: 1, Saturation: 1, Gamma: 1} })
}

// Validate checks the ranges of the fields.
func (p *ColorParams) Validate(Env) error {
	switch {
	case !(p.Brightness >= -1 && p.Brightness <= 1):
		return Fieldf("brightness", "%v: must be in [-1, 1]", p.Brightness)
	case !(p.Contrast >= 0 && p.Contrast <= 4):
		return Fieldf("contrast", "%v: must be in [0, 4]", p.Contrast)
	case !(p.Saturation >= 0 && p.Saturation <= 4):
		return Fieldf("saturation", "%v: must be in [0, 4]", p.Saturation)
	case !(p.Gamma >= 0.1 && p.Gamma <= 10):
		return Fieldf("gamma", "%v: must be in [0.1, 10]", p.Gamma)
	}
	return nil
}

// Tables returns the luma and chroma tables documented on ColorParams; a
// backend maps samples through them (CUDA can upload them as they are).
func (p *ColorParams) Tables() (luma, chroma [256]byte) {
	for i := range 256 {
		v := (p.Contrast*float64(i-128)+128)/255 + p.Brightness
		v = math.Pow(math.Max(0, math.Min(1, v)), 1/p.Gamma)
		luma[i] = clampByte(math.Round(255 * v))
		chroma[i] = clampByte(math.Round(128 + p.Saturation*float64(i-128)))
	}
	return luma, chroma
}

// clampByte converts a rounded value to a sample, clamped to 0..255.
func clampByte(v float64) byte {
	if !(v > 0) {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}
