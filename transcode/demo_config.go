package transcode

import "fmt"

// DemoConfig sizes the built-in demo stream.
type DemoConfig struct {
	// Width of the test pattern in pixels (even).
	Width int `yaml:"width"`
	// Height of the test pattern in pixels (even).
	Height int `yaml:"height"`
	// FPS is the test pattern's frame rate.
	FPS int `yaml:"fps"`
}

// DefaultDemoConfig returns 1280x720 at 30 fps.
func DefaultDemoConfig() DemoConfig {
	return DemoConfig{Width: 1280, Height: 720, FPS: 30}
}

// Validate reports the first invalid field.
func (c DemoConfig) Validate() error {
	switch {
	case c.Width < 16 || c.Width%2 != 0 || c.Width > 4096:
		return fmt.Errorf("demo.width: %w: must be even and between 16 and 4096", ErrInvalidConfig)
	case c.Height < 16 || c.Height%2 != 0 || c.Height > 4096:
		return fmt.Errorf("demo.height: %w: must be even and between 16 and 4096", ErrInvalidConfig)
	case c.FPS < 1 || c.FPS > 120:
		return fmt.Errorf("demo.fps: %w: must be between 1 and 120", ErrInvalidConfig)
	}
	return nil
}
