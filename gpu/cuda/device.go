//go:build cuda

package cuda

import (
	"fmt"
	"runtime"

	"gorgonia.org/cu"
)

// gpuDevice is the device the backend runs on and its primary context,
// retained for the backend's lifetime.
type gpuDevice struct {
	dev          cu.Device
	ctx          cu.CUContext
	name         string
	major, minor int
}

// openDevice retains the primary context of device ordinal, the context
// FFmpeg's CUDA device uses when created with primary_ctx=1.
func openDevice(ordinal int) (*gpuDevice, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda: count devices: %w", err)
	}
	if ordinal >= n {
		return nil, fmt.Errorf("cuda: device %d: only %d devices", ordinal, n)
	}
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return nil, fmt.Errorf("cuda: device %d: %w", ordinal, err)
	}
	name, err := dev.Name()
	if err != nil {
		return nil, fmt.Errorf("cuda: device %d name: %w", ordinal, err)
	}
	major, minor, err := dev.ComputeCapability()
	if err != nil {
		return nil, fmt.Errorf("cuda: device %d compute capability: %w", ordinal, err)
	}
	ctx, err := dev.RetainPrimaryCtx()
	if err != nil {
		return nil, fmt.Errorf("cuda: retain the primary context of device %d: %w", ordinal, err)
	}
	return &gpuDevice{dev: dev, ctx: ctx, name: name, major: major, minor: minor}, nil
}

// do runs fn on a locked OS thread with the device's context current,
// pushed on the thread's context stack and popped after, so that a thread
// FFmpeg also uses keeps its own current context.
func (d *gpuDevice) do(fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.PushCurrentCtx(d.ctx); err != nil {
		return fmt.Errorf("cuda: make the context current: %w", err)
	}
	err := fn()
	if _, perr := cu.PopCurrentCtx(); perr != nil && err == nil {
		err = fmt.Errorf("cuda: pop the context: %w", perr)
	}
	return err
}

// release gives the primary context back.
func (d *gpuDevice) release() error {
	return d.dev.ReleasePrimaryCtx()
}

// cc returns the compute capability as "9.0".
func (d *gpuDevice) cc() string { return fmt.Sprintf("%d.%d", d.major, d.minor) }
