//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"sort"

	"github.com/mutstream/mutstream/gpu/kernels"
	"gorgonia.org/cu"
)

// fallbackArchs are tried, newest first, when NVRTC does not know the
// device's own architecture (a GPU newer than the CUDA toolkit): the
// driver JIT-compiles older PTX for newer devices.
var fallbackArchs = []string{"compute_90", "compute_89", "compute_86", "compute_80", "compute_75", "compute_70"}

// modules holds the loaded kernel modules and their functions by name.
type modules struct {
	mods  []cu.Module
	funcs map[string]cu.Function
	arch  string
}

// loadModules compiles every kernel source for the device with NVRTC and
// loads the PTX. It runs with the context current.
func loadModules(major, minor int) (*modules, error) {
	src := kernels.Sources()
	names := make([]string, 0, len(src))
	for n := range src {
		names = append(names, n)
	}
	sort.Strings(names)
	archs := append([]string{fmt.Sprintf("compute_%d%d", major, minor)}, fallbackArchs...)
	m := &modules{funcs: map[string]cu.Function{}}
	entries := kernels.Entries()
	for _, name := range names {
		ptx, arch, err := compileAny(name, src[name], archs)
		if err != nil {
			m.unload()
			return nil, err
		}
		m.arch = arch
		mod, err := cu.LoadData(ptx)
		if err != nil {
			m.unload()
			return nil, fmt.Errorf("cuda: load the PTX of %s (%s): %w", name, arch, err)
		}
		m.mods = append(m.mods, mod)
		for _, e := range entries[name] {
			fn, err := mod.Function(e)
			if err != nil {
				m.unload()
				return nil, fmt.Errorf("cuda: kernel %s in %s: %w", e, name, err)
			}
			m.funcs[e] = fn
		}
	}
	return m, nil
}

// compileAny compiles src for the first architecture NVRTC accepts.
func compileAny(name, src string, archs []string) (ptx, arch string, err error) {
	var errs []error
	for _, a := range archs {
		ptx, err := kernels.CompilePTX(name, src, a)
		if err == nil {
			return ptx, a, nil
		}
		errs = append(errs, err)
	}
	return "", "", fmt.Errorf("cuda: no architecture compiles %s: %w", name, errors.Join(errs...))
}

// fn returns the kernel called name.
func (m *modules) fn(name string) (cu.Function, error) {
	f, ok := m.funcs[name]
	if !ok {
		return cu.Function{}, fmt.Errorf("cuda: no kernel %q", name)
	}
	return f, nil
}

// unload unloads the modules; it runs with the context current.
func (m *modules) unload() {
	for _, mod := range m.mods {
		_ = mod.Unload()
	}
	m.mods = nil
	m.funcs = map[string]cu.Function{}
}
