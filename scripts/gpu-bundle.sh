#!/bin/sh
# gpu-bundle.sh packs, under .gpu/, what a machine with an NVIDIA GPU but no
# Go toolchain and nothing to fetch needs to run the CUDA kernels against the
# CPU reference and time them: the gpu/cuda test binary (build tag cuda) and
# Debian's NVRTC, compressed (about 20 MB). There, from the repository root:
# sh scripts/gpu-run.sh. The NVDEC and NVENC paths are not in it: the FFmpeg
# libraries they link (over 200, about 90 MB compressed) do not travel.
set -eu
lib=/usr/lib/x86_64-linux-gnu
if [ ! -e "$lib/libnvrtc.so.11.2" ]; then
	echo "gpu-bundle: Debian's NVRTC is missing: run make deps-cuda" >&2
	exit 1
fi
mkdir -p .gpu
go test -c -tags cuda -o .gpu/cuda.test ./gpu/cuda/
tar chJf .gpu/nvrtc.tar.xz -C "$lib" libnvrtc.so.11.2 libnvrtc-builtins.so.11.8
du -sh .gpu
