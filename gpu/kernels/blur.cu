// Blur kernels: a separable convolution with integer weights over a
// rectangle, clamped to the rectangle's edges (samples outside it are never
// read or written). The horizontal pass writes 32-bit sums into a temporary
// buffer; the vertical pass reads them and writes bytes back into the plane.
// A gaussian and a box blur differ only in the weights, which the host
// builds with the same code as the CPU backend.
//
// Samples are addressed as p[y * pitch + x * step + c]: step is 1 for a
// planar plane (Y, U, V) and 2 for NV12's interleaved U,V; c is
// blockIdx.z, the component (0 for planar, 0 = U and 1 = V for NV12).
// The temporary buffer holds, per component, (y1 - y0) rows of (x1 - x0)
// ints. Rectangles may have odd sizes: an odd frame's chroma rectangle
// reaching its edge is ceil(w / 2) x ceil(h / 2) (gpu.ChromaBox).

__device__ __forceinline__ int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

// div_round divides a non-negative sum by norm, rounding halves up; a norm
// of 1 or less leaves the sum as it is.
__device__ __forceinline__ long long div_round(long long sum, int norm)
{
    if (norm <= 1) {
        return sum;
    }
    return (sum + norm / 2) / norm;
}

// conv_h is the horizontal pass: tmp = round(sum_k w[k] * p[x + k - r] / hnorm),
// with x + k - r clamped to [x0, x1).
extern "C" __global__ void conv_h(const unsigned char* p, int pitch, int step,
                                  int x0, int y0, int x1, int y1,
                                  const int* w, int r, int hnorm, int* tmp)
{
    int x = x0 + blockIdx.x * blockDim.x + threadIdx.x;
    int y = y0 + blockIdx.y * blockDim.y + threadIdx.y;
    int c = blockIdx.z;
    if (x >= x1 || y >= y1) {
        return;
    }
    const unsigned char* row = p + (size_t)y * pitch + c;
    long long sum = 0;
    for (int k = -r; k <= r; k++) {
        int xx = clampi(x + k, x0, x1 - 1);
        sum += (long long)w[k + r] * row[xx * step];
    }
    int tw = x1 - x0;
    int th = y1 - y0;
    tmp[((size_t)c * th + (y - y0)) * tw + (x - x0)] = (int)div_round(sum, hnorm);
}

// conv_v is the vertical pass: p = clamp(round(sum_k w[k] * tmp[y + k - r] / vnorm), 0, 255),
// with y + k - r clamped to [y0, y1).
extern "C" __global__ void conv_v(unsigned char* p, int pitch, int step,
                                  int x0, int y0, int x1, int y1,
                                  const int* w, int r, int vnorm, const int* tmp)
{
    int x = x0 + blockIdx.x * blockDim.x + threadIdx.x;
    int y = y0 + blockIdx.y * blockDim.y + threadIdx.y;
    int c = blockIdx.z;
    if (x >= x1 || y >= y1) {
        return;
    }
    int tw = x1 - x0;
    int th = y1 - y0;
    const int* col = tmp + (size_t)c * th * tw + (x - x0);
    long long sum = 0;
    for (int k = -r; k <= r; k++) {
        int yy = clampi(y + k, y0, y1 - 1);
        sum += (long long)w[k + r] * col[(size_t)(yy - y0) * tw];
    }
    long long v = div_round(sum, vnorm);
    p[(size_t)y * pitch + x * step + c] = (unsigned char)(v < 0 ? 0 : (v > 255 ? 255 : v));
}
