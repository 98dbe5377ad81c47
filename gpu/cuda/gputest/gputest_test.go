//go:build cuda

package gputest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestHelperCUDA runs `go test -tags cuda ./gpu/cuda` (CUDA against the
// CPU reference) in a child process when /dev/nvidia0 exists.
func TestHelperCUDA(t *testing.T) {
	if _, err := os.Stat("/dev/nvidia0"); err != nil {
		t.Skip("no NVIDIA GPU (/dev/nvidia0 missing)")
	}
	if testing.Short() {
		t.Skip("-short: the CUDA tests take a while")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	cmd := exec.Command(goBin, "test", "-tags", "cuda", "-count=1", "-v", "-run", ".", ".")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	t.Logf("go test -tags cuda ./gpu/cuda:\n%s", out)
	if err != nil {
		t.Fatalf("gpu/cuda tests failed: %v", err)
	}
}
