package probe

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// nvidiaSMITimeout bounds the nvidia-smi call.
const nvidiaSMITimeout = 2 * time.Second

// gpuName names the first NVIDIA GPU: from nvidia-smi where it is
// installed, else from the CUDA backend (build tag cuda), else "none".
func gpuName() string {
	if path, err := exec.LookPath("nvidia-smi"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), nvidiaSMITimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, path, "--query-gpu=name", "--format=csv,noheader").Output()
		if err == nil {
			if line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n"); strings.TrimSpace(line) != "" {
				return strings.TrimSpace(line)
			}
		}
	}
	if builtWithCUDA {
		if name, err := cudaDevice(); err == nil && name != "" {
			return name
		}
	}
	return "none"
}
