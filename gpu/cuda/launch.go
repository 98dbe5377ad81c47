//go:build cuda

package cuda

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
)

// arg is one kernel argument as the 8 bytes cu.Function.Launch copies: a
// device pointer, or an int whose low 4 bytes (little-endian) are the
// kernel's int parameter.
type arg uint64

// ptrArg passes a device pointer, offset by off bytes.
func ptrArg(p cu.DevicePtr, off int) arg { return arg(uint64(p) + uint64(off)) }

// intArg passes an int.
func intArg(v int) arg { return arg(uint64(int64(v))) }

// The block shapes of the kernels.
const (
	tileX     = 32 // 2-D kernels: threads per block along x
	tileY     = 8  // and along y
	reduceDim = 256
)

// launcher starts kernels on one stream, reusing its argument buffers.
type launcher struct {
	stream cu.Stream
	mods   *modules
	vals   [20]arg
	ptrs   [20]unsafe.Pointer
}

// grid2D launches name over a w x h area (with z components) in tiles.
func (l *launcher) grid2D(name string, w, h, z int, args ...arg) error {
	if w <= 0 || h <= 0 {
		return nil
	}
	return l.launch(name, [3]int{ceilDiv(w, tileX), ceilDiv(h, tileY), z}, [3]int{tileX, tileY, 1}, args...)
}

// launch starts name with the given grid and block.
func (l *launcher) launch(name string, grid, block [3]int, args ...arg) error {
	fn, err := l.mods.fn(name)
	if err != nil {
		return err
	}
	if len(args) > len(l.vals) {
		return fmt.Errorf("cuda: %s: %d arguments, at most %d", name, len(args), len(l.vals))
	}
	for i, a := range args {
		l.vals[i] = a
		l.ptrs[i] = unsafe.Pointer(&l.vals[i])
	}
	if err := fn.Launch(grid[0], grid[1], grid[2], block[0], block[1], block[2], 0, l.stream, l.ptrs[:len(args)]); err != nil {
		return fmt.Errorf("cuda: launch %s: %w", name, err)
	}
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
