//go:build !cuda

package server

import (
	"log/slog"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/gpu/cpu"
)

// mutateBackend picks where chains run. This build has no CUDA backend
// (build tag cuda), so chains run on the CPU reference backend.
func mutateBackend(mode string, log *slog.Logger) gpu.Backend {
	return cpu.New(0)
}
