//go:build cuda

package probe

import "github.com/mutstream/mutstream/gpu/cuda"

// builtWithCUDA is true in the build with the cuda tag.
const builtWithCUDA = true

// cudaDevice names the device the CUDA backend would run chains on, or says
// why there is none. It relies on gpu/cuda's
// Available() (name string, err error).
func cudaDevice() (string, error) {
	return cuda.Available()
}
