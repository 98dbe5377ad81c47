// Package gpu holds mediad's per-frame mutations: the ops a stream's chain is
// made of, their parameters and validation, and the Backend interface that
// runs a chain on frames. gpu/cpu is the pure-Go reference backend; gpu/cuda
// (build tag cuda) runs the same ops as CUDA kernels on frames that stay in
// GPU memory. Both give the same result within 1 per sample.
package gpu
