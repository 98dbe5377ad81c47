//go:build cuda

package server

import (
	"log/slog"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/gpu/cpu"
	"github.com/mutstream/mutstream/gpu/cuda"
)

// mutateBackend picks where chains run: the CUDA backend when the GPU mode
// allows it and a device works, else the CPU reference backend (the reason
// is logged; gpu.mode require has already refused to start without a GPU).
func mutateBackend(mode string, log *slog.Logger) gpu.Backend {
	if mode == "off" {
		return cpu.New(0)
	}
	b, err := cuda.New()
	if err != nil {
		log.Warn("mutations run on the CPU", "reason", err)
		return cpu.New(0)
	}
	log.Info("mutations run on the GPU; chains with an op it has no kernel for run on the CPU", "device", b.DeviceName())
	return gpu.WithFallback(b, cpu.New(0))
}
