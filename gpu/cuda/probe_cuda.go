//go:build cuda

package cuda

import (
	"errors"
	"fmt"

	"gorgonia.org/cu"
)

// Available names the GPU the backend would run on, such as "NVIDIA H100
// 80GB HBM3 (compute 9.0)", or says why there is none. It opens no
// context. (Without a driver the process never gets here: gorgonia.org/cu
// exits in its init.)
func Available() (name string, err error) {
	name, cc, err := Device()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s (compute %s)", name, cc), nil
}

// Device returns the name and compute capability ("9.0") of device 0.
func Device() (name, cc string, err error) {
	n, err := cu.NumDevices()
	if err != nil {
		return "", "", fmt.Errorf("cuda: count devices: %w", err)
	}
	if n == 0 {
		return "", "", errors.New("cuda: no CUDA device")
	}
	dev, err := cu.GetDevice(0)
	if err != nil {
		return "", "", fmt.Errorf("cuda: device 0: %w", err)
	}
	if name, err = dev.Name(); err != nil {
		return "", "", fmt.Errorf("cuda: device 0 name: %w", err)
	}
	major, minor, err := dev.ComputeCapability()
	if err != nil {
		return "", "", fmt.Errorf("cuda: device 0 compute capability: %w", err)
	}
	return name, fmt.Sprintf("%d.%d", major, minor), nil
}
