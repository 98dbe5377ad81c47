// Blend kernel: lays an overlay (a picture or rendered text, with its
// alpha) over a plane at a position, with an opacity:
//
//     a   = (alpha * opacity + 127) / 255
//     out = (in * (255 - a) + ov * a + 127) / 255
//
// An opacity of 255 leaves alpha as it is. On chroma planes (sub = 1)
// alpha is the mean of the 2x2 block of full-resolution alpha over the
// chroma sample, (a00 + a01 + a10 + a11 + 2) / 4. The host clips the
// overlay to the frame and offsets the pointers, so every sample the kernel
// touches is inside both.
//
// The plane's samples are p[y * pitch + x * step + c]: step 1 for a planar
// plane, 2 for NV12's interleaved U,V; blockIdx.z is c, and component 1
// takes its overlay samples from ov1 instead of ov0.

// blend_plane blends the w x h overlay samples into p at dx, dy.
extern "C" __global__ void blend_plane(unsigned char* p, int pitch, int step,
                                       int dx, int dy, int w, int h,
                                       const unsigned char* ov0, const unsigned char* ov1, int ovpitch,
                                       const unsigned char* alpha, int apitch, int sub, int opacity)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    int c = blockIdx.z;
    if (x >= w || y >= h) {
        return;
    }
    unsigned int a;
    if (sub) {
        const unsigned char* a0 = alpha + (size_t)(2 * y) * apitch + 2 * x;
        const unsigned char* a1 = a0 + apitch;
        a = ((unsigned int)a0[0] + a0[1] + a1[0] + a1[1] + 2) / 4;
    } else {
        a = alpha[(size_t)y * apitch + x];
    }
    if (opacity < 255) {
        a = (a * (unsigned int)opacity + 127) / 255;
    }
    if (a == 0) {
        return;
    }
    const unsigned char* ov = c == 0 ? ov0 : ov1;
    unsigned int o = ov[(size_t)y * ovpitch + x];
    unsigned char* s = p + (size_t)(dy + y) * pitch + (dx + x) * step + c;
    *s = (unsigned char)(((unsigned int)*s * (255 - a) + o * a + 127) / 255);
}
