//go:build cuda

package kernels

import (
	"fmt"
	"strings"

	"gorgonia.org/cu/nvrtc"
)

// CompilePTX compiles one CUDA C source to PTX for arch, a virtual
// architecture such as "compute_90". It needs libnvrtc but no GPU. A
// compile error carries NVRTC's log.
func CompilePTX(name, src, arch string) (string, error) {
	prog, err := nvrtc.CreateProgram(src, name)
	if err != nil {
		return "", fmt.Errorf("nvrtc: create %s: %w", name, err)
	}
	defer func() { _ = prog.Destroy() }()
	opts := []string{"--gpu-architecture=" + arch, "--std=c++14"}
	if err := prog.Compile(opts...); err != nil {
		log, _ := prog.GetLog()
		return "", fmt.Errorf("nvrtc: compile %s for %s: %w: %s", name, arch, err, strings.TrimSpace(log))
	}
	ptx, err := prog.GetPTX()
	if err != nil {
		return "", fmt.Errorf("nvrtc: PTX of %s: %w", name, err)
	}
	return strings.TrimRight(ptx, "\x00"), nil
}
