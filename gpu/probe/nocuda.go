//go:build !cuda

package probe

import "errors"

// builtWithCUDA is true in the build with the cuda tag.
const builtWithCUDA = false

// cudaDevice is only meaningful in the cuda build.
func cudaDevice() (string, error) {
	return "", errors.New("built without CUDA (build tag cuda)")
}
