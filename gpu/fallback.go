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
	c, err = b.fallback.NewChain(specs, w, h, format)
	if err != nil {
		return nil, err
	}
	return fellBack{Chain: c, backend: b.fallback.Name()}, nil
}

// fellBack is a chain the fallback backend built.
type fellBack struct {
	Chain
	backend string
}

// ChainBackend names the backend that runs c, a chain b built: b's name,
// or its fallback's when b is WithFallback's and the primary could not
// build the chain.
func ChainBackend(b Backend, c Chain) string {
	if fb, ok := c.(fellBack); ok {
		return fb.backend
	}
	return b.Name()
}
