// Stamp kernel: draws the stamp op's band (gpu.StampParams) over the top
// rows of a frame, as the CPU backend does:
//
//     luma rows [0, rows):       grey, except in rows [top, bot) of a frame
//                                with a code, where a column inside block i
//                                is white for a 1 and black for a 0
//     chroma rows [0, rows / 2): 128
//
// The host builds the column table once, cols[x] = the block that luma
// column x lies in, or 255 for none (the same edges the CPU backend clamps
// to the frame), and passes each frame's code as bits, bit i for block i.
//
// One thread per luma sample of the band, w x rows; the thread of an even
// (x, y) also writes the chroma sample (x / 2, y / 2) of both components
// (rows is even; for an odd w the last luma column is even, so all
// (w + 1) / 2 chroma columns are written),
// u[cy * upitch + cx * step] and v[cy * vpitch + cx * step]: u and v are
// the U and V planes with step 1 (YUV420P), or NV12's UV plane and the same
// plus one byte with step 2.

// stamp_band draws the w x rows band into y and the chroma under it.
extern "C" __global__ void stamp_band(unsigned char* y, int pitch, int w, int rows,
                                      unsigned char* u, int upitch, unsigned char* v, int vpitch, int step,
                                      const unsigned char* cols, int top, int bot,
                                      unsigned long long bits, int valid,
                                      int grey, int black, int white)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int r = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || r >= rows) {
        return;
    }
    int val = grey;
    if (valid && r >= top && r < bot) {
        unsigned int b = cols[x];
        if (b < 64) {
            val = ((bits >> b) & 1ull) ? white : black;
        }
    }
    y[(size_t)r * pitch + x] = (unsigned char)val;
    if (((x | r) & 1) == 0) {
        int cx = x / 2;
        int cy = r / 2;
        u[(size_t)cy * upitch + (size_t)cx * step] = 128;
        v[(size_t)cy * vpitch + (size_t)cx * step] = 128;
    }
}
