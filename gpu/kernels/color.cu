// Color kernels: apply 256-entry lookup tables to the samples of a
// rectangle. The tables are built on the host (gpu/cuda) from the op's
// parameters, with the same code the CPU backend uses, so both backends give
// identical results. Rectangles are half-open [x0, x1) x [y0, y1) in the
// plane's own sample coordinates.

// lut_y maps every luma sample of the rectangle through lut[256].
extern "C" __global__ void lut_y(unsigned char* p, int pitch, int x0, int y0, int x1, int y1,
                                 const unsigned char* lut)
{
    int x = x0 + blockIdx.x * blockDim.x + threadIdx.x;
    int y = y0 + blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= x1 || y >= y1) {
        return;
    }
    unsigned char* s = p + (size_t)y * pitch + x;
    *s = lut[*s];
}

// lut_uv_nv12 maps the interleaved U,V samples of an NV12 chroma plane:
// U through luts[0..255] and V through luts[256..511]. x0 and x1 count
// chroma pairs, not bytes.
extern "C" __global__ void lut_uv_nv12(unsigned char* uv, int pitch, int x0, int y0, int x1, int y1,
                                       const unsigned char* luts)
{
    int x = x0 + blockIdx.x * blockDim.x + threadIdx.x;
    int y = y0 + blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= x1 || y >= y1) {
        return;
    }
    unsigned char* s = uv + (size_t)y * pitch + 2 * x;
    s[0] = luts[s[0]];
    s[1] = luts[256 + s[1]];
}

// lut_uv_yuv420p maps the separate U and V planes of a YUV420P frame
// (blockIdx.z 0 is U, 1 is V): U through luts[0..255], V through
// luts[256..511].
extern "C" __global__ void lut_uv_yuv420p(unsigned char* u, int upitch, unsigned char* v, int vpitch,
                                          int x0, int y0, int x1, int y1, const unsigned char* luts)
{
    int x = x0 + blockIdx.x * blockDim.x + threadIdx.x;
    int y = y0 + blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= x1 || y >= y1) {
        return;
    }
    unsigned char* s;
    const unsigned char* lut;
    if (blockIdx.z == 0) {
        s = u + (size_t)y * upitch + x;
        lut = luts;
    } else {
        s = v + (size_t)y * vpitch + x;
        lut = luts + 256;
    }
    *s = lut[*s];
}
