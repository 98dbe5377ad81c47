package gpu

// Backend runs chains of ops: gpu/cpu everywhere, gpu/cuda where a GPU is.
type Backend interface {
	// Name is "cpu" or "cuda".
	Name() string
	// NewChain prepares specs for frames of the given size and format.
	NewChain(specs []Spec, width, height int, format PixelFormat) (Chain, error)
}

// Chain is a prepared list of ops. Apply is called from one goroutine at a
// time; Close frees what the chain holds.
type Chain interface {
	Apply(f *Frame, info FrameInfo) error
	Close()
}

// DeviceChain is a Chain whose Apply also takes device frames (Frame.Device
// set): NV12 planes in the memory of the GPU's primary context, where
// FFmpeg's cuda hwaccel decodes. It changes them in place.
type DeviceChain interface {
	Chain
	TakesDevice() bool
}
