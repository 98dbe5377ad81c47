//go:build cuda

package cuda

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
)

// devBuf is device memory owned by a chain or an op.
type devBuf struct {
	ptr  cu.DevicePtr
	size int64
}

// alloc allocates n bytes (at least 1); it runs with the context current.
func alloc(n int64) (devBuf, error) {
	n = max(n, 1)
	p, err := cu.MemAlloc(n)
	if err != nil {
		return devBuf{}, fmt.Errorf("cuda: allocate %d bytes: %w", n, err)
	}
	return devBuf{ptr: p, size: n}, nil
}

// allocBytes allocates a buffer holding b.
func allocBytes(b []byte) (devBuf, error) {
	d, err := alloc(int64(len(b)))
	if err != nil {
		return d, err
	}
	if err := d.upload(b); err != nil {
		d.free()
		return devBuf{}, err
	}
	return d, nil
}

// allocInt32 allocates a buffer holding v.
func allocInt32(v []int32) (devBuf, error) {
	if len(v) == 0 {
		return alloc(4)
	}
	return allocBytes(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
}

// upload copies b to the start of the buffer.
func (d devBuf) upload(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if int64(len(b)) > d.size {
		return fmt.Errorf("cuda: upload %d bytes into %d", len(b), d.size)
	}
	if err := cu.MemcpyHtoD(d.ptr, unsafe.Pointer(&b[0]), int64(len(b))); err != nil {
		return fmt.Errorf("cuda: upload %d bytes: %w", len(b), err)
	}
	return nil
}

// download copies the start of the buffer into b.
func (d devBuf) download(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if int64(len(b)) > d.size {
		return fmt.Errorf("cuda: download %d bytes from %d", len(b), d.size)
	}
	if err := cu.MemcpyDtoH(unsafe.Pointer(&b[0]), d.ptr, int64(len(b))); err != nil {
		return fmt.Errorf("cuda: download %d bytes: %w", len(b), err)
	}
	return nil
}

// free frees the buffer; it runs with the context current.
func (d *devBuf) free() {
	if d.ptr != 0 {
		_ = cu.MemFree(d.ptr)
	}
	*d = devBuf{}
}
