// Package kernels holds the CUDA C sources of the gpu ops' kernels, one file
// per op family, embedded in the binary. gpu/cuda compiles them with NVRTC
// for the device it finds; CompilePTX (build tag cuda) does the same without
// a GPU, so CI checks that every kernel compiles.
//
// The kernels are generic: they apply lookup tables, convolve with integer
// weights, average blocks, blend planes, draw the stamp's band and reduce
// statistics. What makes
// them an op (the tables, weights and planes) is built on the host from the
// op's parameters, with the same Go code the CPU backend uses.
package kernels

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.cu
var sources embed.FS

// Sources returns the CUDA C sources by file name ("blur.cu", ...).
func Sources() map[string]string {
	out := map[string]string{}
	entries, err := fs.ReadDir(sources, ".")
	if err != nil {
		return out // cannot happen with an embedded directory
	}
	for _, e := range entries {
		b, err := sources.ReadFile(e.Name())
		if err != nil {
			continue
		}
		out[e.Name()] = string(b)
	}
	return out
}

// Names returns the source file names, sorted.
func Names() []string {
	src := Sources()
	out := make([]string, 0, len(src))
	for n := range src {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Entries returns the kernel entry points (extern "C" __global__
// functions) that each source file defines, by file name.
func Entries() map[string][]string {
	out := map[string][]string{}
	for name, src := range Sources() {
		out[name] = entryNames(src)
	}
	return out
}

// entryNames finds `extern "C" __global__ void NAME(` in src.
func entryNames(src string) []string {
	const marker = `extern "C" __global__ void `
	var names []string
	for {
		i := strings.Index(src, marker)
		if i < 0 {
			return names
		}
		src = src[i+len(marker):]
		j := strings.IndexByte(src, '(')
		if j <= 0 {
			return names
		}
		names = append(names, strings.TrimSpace(src[:j]))
		src = src[j:]
	}
}
