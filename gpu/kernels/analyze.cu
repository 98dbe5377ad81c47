// Analysis kernel: statistics of the luma plane for scene-cut, black and
// frozen detection, over a subsampled grid (every step-th sample of every
// step-th row, starting at 0, 0). In one pass it sums the samples, sums
// their absolute differences from the previous frame's samples (kept in a
// device buffer of the grid's size, updated in place), and counts a 32-bin
// histogram (bin = sample / 8). The host zeroes out[] before the launch and
// reads it back after:
//
//     out[0]        sum of the samples
//     out[1]        sum of |sample - previous| (0 when has_prev is 0)
//     out[2 + b]    samples in histogram bin b, b in [0, 32)
//     out[34]       samples <= dark (for black frame detection)
//
// Each CUDA block reduces in shared memory, then adds its totals to out[]
// with atomics.

#define AN_BINS 32
#define AN_THREADS 256

// luma_stats reduces the gw x gh grid of samples y[j * step * pitch + i * step].
extern "C" __global__ void luma_stats(const unsigned char* y, int pitch, int gw, int gh, int step,
                                      unsigned char* prev, int has_prev, int dark,
                                      unsigned long long* out)
{
    __shared__ unsigned int hist[AN_BINS];
    __shared__ unsigned long long sums[AN_THREADS];
    __shared__ unsigned long long diffs[AN_THREADS];
    __shared__ unsigned int darks;
    int t = threadIdx.x;
    if (t < AN_BINS) {
        hist[t] = 0;
    }
    if (t == 0) {
        darks = 0;
    }
    __syncthreads();
    unsigned long long sum = 0, diff = 0;
    unsigned int dk = 0;
    int n = gw * gh;
    for (int i = blockIdx.x * blockDim.x + t; i < n; i += gridDim.x * blockDim.x) {
        int gx = i % gw;
        int gy = i / gw;
        unsigned int v = y[(size_t)gy * step * pitch + (size_t)gx * step];
        sum += v;
        if (has_prev) {
            int d = (int)v - (int)prev[i];
            diff += (unsigned int)(d < 0 ? -d : d);
        }
        prev[i] = (unsigned char)v;
        if ((int)v <= dark) {
            dk++;
        }
        atomicAdd(&hist[v >> 3], 1u);
    }
    if (dk != 0) {
        atomicAdd(&darks, dk);
    }
    sums[t] = sum;
    diffs[t] = diff;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) {
            sums[t] += sums[t + s];
            diffs[t] += diffs[t + s];
        }
        __syncthreads();
    }
    if (t == 0) {
        atomicAdd(&out[0], sums[0]);
        atomicAdd(&out[1], diffs[0]);
        if (darks != 0) {
            atomicAdd(&out[34], (unsigned long long)darks);
        }
    }
    if (t < AN_BINS && hist[t] != 0) {
        atomicAdd(&out[2 + t], (unsigned long long)hist[t]);
    }
}
