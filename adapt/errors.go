package adapt

import "errors"

// Sentinel errors of the package.
var (
	// ErrUnknownRung means a rung name is not on the current ladder.
	ErrUnknownRung = errors.New("adapt: unknown rung")
	// ErrInvalidConfig means a Config field is out of its range. Its text
	// names no section: the caller prefixes the config path ("adapt: ").
	ErrInvalidConfig = errors.New("invalid config")
)
