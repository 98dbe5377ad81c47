// Pixelate kernel: every block of a grid laid over a rectangle takes the
// mean of its samples, (sum + n / 2) / n. Blocks at the rectangle's right
// and bottom edges are cut by it and average only what lies inside.
//
// One CUDA block per pixel block and component. Samples are addressed as
// p[y * pitch + x * step + c], as in blur.cu: step 1 for a planar plane,
// 2 for NV12's interleaved U,V with c = blockIdx.z.

#define PIX_THREADS 256

// block_mean averages the blocks [gx + i * bw, gx + (i + 1) * bw) x
// [gy + j * bh, gy + (j + 1) * bh), cut to [x0, x1) x [y0, y1), for
// i = blockIdx.x and j = blockIdx.y. The grid origin gx, gy is at or before
// x0, y0.
extern "C" __global__ void block_mean(unsigned char* p, int pitch, int step,
                                      int x0, int y0, int x1, int y1,
                                      int gx, int gy, int bw, int bh)
{
    __shared__ unsigned int partial[PIX_THREADS];
    int c = blockIdx.z;
    int bx0 = max(gx + (int)blockIdx.x * bw, x0);
    int by0 = max(gy + (int)blockIdx.y * bh, y0);
    int bx1 = min(gx + ((int)blockIdx.x + 1) * bw, x1);
    int by1 = min(gy + ((int)blockIdx.y + 1) * bh, y1);
    int w = bx1 - bx0;
    int h = by1 - by0;
    if (w <= 0 || h <= 0) {
        return; // uniform over the CUDA block: no thread reaches a barrier
    }
    int n = w * h;
    unsigned int sum = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        int x = bx0 + i % w;
        int y = by0 + i / w;
        sum += p[(size_t)y * pitch + x * step + c];
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            partial[threadIdx.x] += partial[threadIdx.x + s];
        }
        __syncthreads();
    }
    unsigned char mean = (unsigned char)((partial[0] + (unsigned int)n / 2) / (unsigned int)n);
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        int x = bx0 + i % w;
        int y = by0 + i / w;
        p[(size_t)y * pitch + x * step + c] = mean;
    }
}
