//go:build cuda

package kernels

import (
	"strings"
	"testing"
)

// TestNVRTCCompile compiles every kernel source with NVRTC for Ampere and
// Hopper and checks that each entry point is in the PTX. It needs libnvrtc,
// not a GPU, and does not link gorgonia.org/cu (whose init needs a GPU).
func TestNVRTCCompile(t *testing.T) {
	entries := Entries()
	for _, arch := range []string{"compute_80", "compute_90"} {
		for name, src := range Sources() {
			ptx, err := CompilePTX(name, src, arch)
			if err != nil {
				t.Errorf("%s: %v", arch, err)
				continue
			}
			if len(entries[name]) == 0 {
				t.Errorf("%s defines no extern \"C\" __global__ kernel", name)
			}
			for _, e := range entries[name] {
				if !strings.Contains(ptx, ".entry "+e+"(") {
					t.Errorf("%s for %s: PTX has no .entry %s", name, arch, e)
				}
			}
		}
	}
}
