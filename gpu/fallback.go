package gpu

// WithFallback returns a backend that prepares each chain on primary, and
// on fallback when primary cannot (an op it has no kernel for).
func WithFallback(primary, fallback Backend) Backend {
	return &fallbackBackend{primary: primary, fallback: fallback}
}

type fallbackBackend struct {
	primary, fallback Backend
}

func (b *fallbackBackend) Name() string { return b.primary.Name() }

func (b *fallbackBackend) NewChain(specs []Spec, w, h int, format PixelFormat) (Chain, error) {
	c, err := b.primary.NewChain(specs, w, h, format)
	if err == nil {
		return c, nil
	}
	return b.fallback.NewChain(specs, w, h, format)
}
