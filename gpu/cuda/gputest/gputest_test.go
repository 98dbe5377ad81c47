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
	runCUDATests(t, "..", ".")
}

// TestHelperDeviceFrames runs the pipeline's tests that need the CUDA
// backend: NVDEC frames mutated in device memory against the CPU.
func TestHelperDeviceFrames(t *testing.T) {
	runCUDATests(t, "../../../transcode", "TestDeviceMutation")
}

// runCUDATests runs `go test -tags cuda -run pattern` in dir, relative to
// this package, in a child process; skipped without a GPU or with -short.
func runCUDATests(t *testing.T, dir, pattern string) {
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
	cmd := exec.Command(goBin, "test", "-tags", "cuda", "-count=1", "-v", "-run", pattern, ".")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("go test -tags cuda -run %s in %s:\n%s", pattern, dir, out)
	if err != nil {
		t.Fatalf("CUDA tests in %s failed: %v", dir, err)
	}
}
