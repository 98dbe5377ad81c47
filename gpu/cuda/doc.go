// Package cuda is the CUDA backend of the gpu package (build tag cuda): it
// runs a chain's ops as CUDA kernels on frames in GPU memory, such as NV12
// frames decoded by NVDEC into the device's primary context, which FFmpeg
// (primary_ctx=1) and this package share.
//
// The kernels (gpu/kernels) are generic. What makes them an op, such as the
// color op's lookup tables or the blur's integer weights, is built on the
// host from the op's parameters with the same code the CPU backend uses and
// uploaded once per chain (the text op's overlay again whenever its text
// changes), so both backends give the same samples.
//
// gorgonia.org/cu initialises the driver in its package init and exits the
// process when there is no GPU, so everything that imports it is behind the
// cuda build tag; without the tag this package is empty.
package cuda
