#!/bin/sh
# gpu-run.sh runs, on a machine with an NVIDIA GPU, what gpu-bundle.sh
# packed: the CUDA kernels against the CPU reference (TestCUDAMatchesCPU and
# the rest of gpu/cuda's tests), then BenchmarkCUDAOps (each op and a
# four-op chain, 720p and 1080p, device and host frames). Logs go to $OUT,
# else .gpu/out; summary.txt says what passed.
set -u
out=${OUT:-.gpu/out}
mkdir -p "$out" /tmp/mediad-nvrtc
if [ ! -x .gpu/cuda.test ]; then
	echo "gpu-run: no .gpu/cuda.test: run scripts/gpu-bundle.sh first (where Go is)" | tee "$out/summary.txt"
	exit 1
fi
tar xJf .gpu/nvrtc.tar.xz -C /tmp/mediad-nvrtc
export LD_LIBRARY_PATH=/tmp/mediad-nvrtc${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
root=$(pwd)
nvidia-smi -L >"$out/gpu.txt" 2>&1
cd gpu/cuda || exit 1
"$root/.gpu/cuda.test" -test.v -test.count=1 >"$out/cuda-tests.txt" 2>&1
echo "gpu/cuda tests: exit $?" >>"$out/summary.txt"
"$root/.gpu/cuda.test" -test.run '^$' -test.bench . -test.benchtime 100x >"$out/cuda-bench.txt" 2>&1
echo "BenchmarkCUDAOps: exit $?" >>"$out/summary.txt"
cat "$out/gpu.txt" "$out/summary.txt"
