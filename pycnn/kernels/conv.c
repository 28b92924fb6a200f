/* A convolution with few input channels, ReLU and a tiling max pool, computed directly
 * (no im2col matrix), for pycnn in the browser (WebAssembly SIMD).
 *
 * A first layer such as Conv2D(8, 3) on 28 x 28 x 1 images has a window of only
 * kh * kw * C_in = 9 numbers and 8 filters. Through im2col and gemm.c that is a
 * (b * 676 x 10) matrix copied out of the image, then products whose shared dimension
 * (10) and width (8) are far below the product's panel sizes, then the pool's passes over
 * the four blocks of conv outputs: three passes over memory for little arithmetic. Here
 * each pool window's conv outputs are computed straight from the image (NHWC), eight
 * output channels at a time, reduced to their maximum, ReLU'd and stored in one pass;
 * the backward pass reads the image again for the weight gradient (and adds the input
 * gradient when the layer needs one). pycnn/layers/fused.py chooses this path
 * for small windows (pycnn/kernels/__init__.py, WasmKernels.conv_pool); other shapes use
 * im2col and gemm.c. docs/PERFORMANCE.md, "A direct convolution for few channels", has
 * the measurements.
 *
 * Same numbers as the im2col path: each output is the sum over the window in im2col's
 * column order, (i, j, c), then the bias -- the order of gemm.c's products -- so the
 * forward gives the same floats as the im2col path with the same build; the pool takes
 * the first maximum, like cp_pool_route. The gradients are sums in another order (equal to
 * rounding).
 *
 * Like gemm.c: no globals, no static data, no stack (no local arrays); the caller passes
 * every buffer. Compiled into the same module as gemm.c (sitebuild/kernels.py). */
#include <wasm_simd128.h>

#if defined(__wasm_relaxed_simd__)
#define MADD(a, b, c) wasm_f32x4_relaxed_madd((a), (b), (c))
#else
#define MADD(a, b, c) wasm_f32x4_add(wasm_f32x4_mul((a), (b)), (c))
#endif

#define EXPORT(name) __attribute__((export_name(#name))) name

/* The shape of a conv + pool, as both passes take it. x: (n, ., ., c_in) with its
 * pixels' channels contiguous and its columns adjacent (stride c_in); xs0, xs1: the
 * image and row strides in floats. Then a window row is one run of kw * c_in floats, in
 * the order of the kernel's rows (i, j, ci): a window is kh runs. */
#define CONV_ARGS                                                                      \
    int n, int hp, int wp, int c_out, int kh, int kw, int c_in, int sh, int sw, int ph, \
        int pw, const float *x, int xs0, int xs1

/* m, first: the running maximum and the offset of its first occurrence, after output o */
#define POOL_STEP(m, first, acc, o)                                                    \
    {                                                                                  \
        first = wasm_v128_bitselect(wasm_i32x4_splat(o), first, wasm_f32x4_gt(acc, m)); \
        m = wasm_f32x4_max(m, acc); /* NaN wins, like np.maximum */                    \
    }

/* Four channels' pooled maximum m (ReLU'd if relu) into out, and (if route) where each
 * one's gradient goes: offset `first`, the last offset if m is NaN, -1 if ReLU zeroes it. */
static inline void store_pooled(v128_t m, v128_t first, int relu, int last, float *out,
                                int *route) {
    v128_t zero = wasm_f32x4_splat(0.0f);
    wasm_v128_store(out, relu ? wasm_f32x4_max(m, zero) : m);
    if (!route) return;
    first = wasm_v128_bitselect(wasm_i32x4_splat(last), first, wasm_f32x4_ne(m, m));
    if (relu) first = wasm_v128_bitselect(first, wasm_i32x4_splat(-1), wasm_f32x4_gt(m, zero));
    wasm_v128_store(route, first);
}

/* out[img, r, q, c] = max over the ph x pw conv outputs of pool window (r, q) of
 *   sum_{i, j, ci} x[img, y + i, x + j, ci] * w[(i * kw + j) * c_in + ci, c] + bias[c]
 * (y, x: the conv output's top-left input pixel), then max(., 0) if relu.
 * w: (kh * kw * c_in, c_out) contiguous; c_out a multiple of 4; out: (n, hp, wp, c_out)
 * contiguous. route (same shape, or 0 when no backward follows): the pool offset
 * a * pw + b of the first maximum, the last offset if the maximum is NaN, and -1 where
 * relu zeroes the gradient (the maximum is not > 0).
 * Channels go 8 at a time (two f32x4; a last group of 4 computes its half twice). The
 * usual 2 x 2 pool computes its four conv outputs together: eight independent sums that
 * share each input and weight load. Other pools go one output at a time. */
void EXPORT(cp_conv_pool)(CONV_ARGS, const float *w, const float *bias, int relu, float *out,
                          int *route) {
    v128_t zero = wasm_f32x4_splat(0.0f);
    int run = kw * c_in, last = ph * pw - 1;
    for (int img = 0; img < n; img++) {
        for (int r = 0; r < hp; r++) {
            for (int q = 0; q < wp; q++) {
                const float *window = x + img * xs0 + r * ph * sh * xs1 + q * pw * sw * c_in;
                int at = ((img * hp + r) * wp + q) * c_out;
                int *rt = route ? route + at : 0;
                for (int c0 = 0; c0 < c_out; c0 += 8) {
                    int hi = c0 + 4 < c_out ? c0 + 4 : c0; /* the group's second half */
                    v128_t b = wasm_v128_load(bias + c0), bh = wasm_v128_load(bias + hi);
                    if (ph == 2 && pw == 2) {
                        const float *below = window + sh * xs1;
                        v128_t a0 = zero, a1 = zero, a2 = zero, a3 = zero;
                        v128_t e0 = zero, e1 = zero, e2 = zero, e3 = zero;
                        const float *wr = w + c0, *wh = w + hi;
                        for (int i = 0; i < kh; i++) {
                            const float *x0 = window + i * xs1, *x2 = below + i * xs1;
                            const float *x1 = x0 + sw * c_in, *x3 = x2 + sw * c_in;
                            for (int t = 0; t < run; t++, wr += c_out, wh += c_out) {
                                v128_t wv = wasm_v128_load(wr), wvh = wasm_v128_load(wh);
                                v128_t v = wasm_v128_load32_splat(x0 + t);
                                a0 = MADD(v, wv, a0);
                                e0 = MADD(v, wvh, e0);
                                v = wasm_v128_load32_splat(x1 + t);
                                a1 = MADD(v, wv, a1);
                                e1 = MADD(v, wvh, e1);
                                v = wasm_v128_load32_splat(x2 + t);
                                a2 = MADD(v, wv, a2);
                                e2 = MADD(v, wvh, e2);
                                v = wasm_v128_load32_splat(x3 + t);
                                a3 = MADD(v, wv, a3);
                                e3 = MADD(v, wvh, e3);
                            }
                        }
                        v128_t m = wasm_f32x4_add(a0, b), first = wasm_i32x4_splat(0);
                        POOL_STEP(m, first, wasm_f32x4_add(a1, b), 1)
                        POOL_STEP(m, first, wasm_f32x4_add(a2, b), 2)
                        POOL_STEP(m, first, wasm_f32x4_add(a3, b), 3)
                        store_pooled(m, first, relu, last, out + at + c0, rt ? rt + c0 : 0);
                        if (hi == c0) continue;
                        m = wasm_f32x4_add(e0, bh);
                        first = wasm_i32x4_splat(0);
                        POOL_STEP(m, first, wasm_f32x4_add(e1, bh), 1)
                        POOL_STEP(m, first, wasm_f32x4_add(e2, bh), 2)
                        POOL_STEP(m, first, wasm_f32x4_add(e3, bh), 3)
                        store_pooled(m, first, relu, last, out + at + hi, rt ? rt + hi : 0);
                        continue;
                    }
                    for (int c = c0; c <= hi; c += 4) {
                        v128_t m = zero, first = wasm_i32x4_splat(0);
                        for (int o = 0; o <= last; o++) {
                            const float *xo = window + (o / pw) * sh * xs1 + (o % pw) * sw * c_in;
                            const float *wr = w + c;
                            v128_t acc = zero;
                            for (int i = 0; i < kh; i++) {
                                for (int t = 0; t < run; t++, wr += c_out) {
                                    acc = MADD(wasm_v128_load32_splat(xo + i * xs1 + t),
                                               wasm_v128_load(wr), acc);
                                }
                            }
                            acc = wasm_f32x4_add(acc, c == c0 ? b : bh);
                            if (o == 0) {
                                m = acc;
                            } else {
                                POOL_STEP(m, first, acc, o)
                            }
                        }
                        store_pooled(m, first, relu, last, out + at + c, rt ? rt + c : 0);
                    }
                }
            }
        }
    }
}

static inline float hsum(v128_t v) {
    return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
           (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

/* The gradients of cp_conv_pool given grad = dL/d out (n, hp, wp, c_out contiguous) and
 * its route: each grad element goes to the conv output its route names (none if -1).
 *   dw[(i * kw + j) * c_in + ci, c] = sum of x[., y + i, x + j, ci] * dz[c] over conv outputs
 *   db[c] = sum of dz[c];  dx[img, y + i, x + j, ci] += sum_c dz[c] * w[(i, j, ci), c]
 * dx (image and row strides ds0, ds1; laid out like x) is added to, so the caller zeroes
 * it; 0 skips it. part: kh * kw * c_in * c_out + c_out floats of scratch, where each
 * image's sums are gathered before they are added to dw and db (shorter float sums, as
 * in gemm.c's depth blocks). */
void EXPORT(cp_conv_pool_grad)(CONV_ARGS, const float *grad, const int *route, const float *w,
                               float *dw, float *db, float *dx, int ds0, int ds1, float *part) {
    int run = kw * c_in, taps = kh * run, size = (taps + 1) * c_out, last = ph * pw - 1;
    v128_t none = wasm_i32x4_splat(-1);
    for (int t = 0; t < taps * c_out; t++) dw[t] = 0.0f;
    for (int c = 0; c < c_out; c++) db[c] = 0.0f;
    for (int img = 0; img < n; img++) {
        for (int t = 0; t < size; t++) part[t] = 0.0f;
        float *pb = part + taps * c_out; /* the bias's sums */
        for (int r = 0; r < hp; r++) {
            for (int q = 0; q < wp; q++) {
                int at = ((img * hp + r) * wp + q) * c_out;
                const float *window = x + img * xs0 + r * ph * sh * xs1 + q * pw * sw * c_in;
                for (int c0 = 0; c0 < c_out; c0 += 4) {
                    v128_t to = wasm_v128_load(route + at + c0);
                    if (wasm_i32x4_all_true(wasm_i32x4_eq(to, none))) continue;
                    v128_t g = wasm_v128_load(grad + at + c0);
                    v128_t routed = wasm_v128_andnot(g, wasm_i32x4_eq(to, none));
                    wasm_v128_store(pb + c0, wasm_f32x4_add(wasm_v128_load(pb + c0), routed));
                    if (ph == 2 && pw == 2) { /* the four offsets together, as in the forward */
                        v128_t d0 = wasm_v128_and(g, wasm_i32x4_eq(to, wasm_i32x4_splat(0)));
                        v128_t d1 = wasm_v128_and(g, wasm_i32x4_eq(to, wasm_i32x4_splat(1)));
                        v128_t d2 = wasm_v128_and(g, wasm_i32x4_eq(to, wasm_i32x4_splat(2)));
                        v128_t d3 = wasm_v128_and(g, wasm_i32x4_eq(to, wasm_i32x4_splat(3)));
                        const float *below = window + sh * xs1;
                        float *pt = part + c0;
                        for (int i = 0; i < kh; i++) {
                            const float *x0 = window + i * xs1, *x2 = below + i * xs1;
                            const float *x1 = x0 + sw * c_in, *x3 = x2 + sw * c_in;
                            for (int t = 0; t < run; t++, pt += c_out) {
                                v128_t p = wasm_v128_load(pt);
                                p = MADD(wasm_v128_load32_splat(x0 + t), d0, p);
                                p = MADD(wasm_v128_load32_splat(x1 + t), d1, p);
                                p = MADD(wasm_v128_load32_splat(x2 + t), d2, p);
                                p = MADD(wasm_v128_load32_splat(x3 + t), d3, p);
                                wasm_v128_store(pt, p);
                            }
                        }
                    }
                    if (ph == 2 && pw == 2 && !dx) continue;
                    for (int o = 0; o <= last; o++) {
                        v128_t hit = wasm_i32x4_eq(to, wasm_i32x4_splat(o));
                        if (!wasm_v128_any_true(hit)) continue;
                        v128_t dz = wasm_v128_and(g, hit);
                        int down = (o / pw) * sh, right = (o % pw) * sw * c_in;
                        if (ph != 2 || pw != 2) {
                            const float *xo = window + down * xs1 + right;
                            float *pt = part + c0;
                            for (int i = 0; i < kh; i++) {
                                const float *xr = xo + i * xs1;
                                for (int t = 0; t < run; t++, pt += c_out) {
                                    v128_t xv = wasm_v128_load32_splat(xr + t);
                                    wasm_v128_store(pt, MADD(xv, dz, wasm_v128_load(pt)));
                                }
                            }
                        }
                        if (!dx) continue;
                        float *dxo = dx + img * ds0 + (r * ph * sh + down) * ds1 +
                                     q * pw * sw * c_in + right;
                        const float *wr = w + c0;
                        for (int i = 0; i < kh; i++) {
                            float *dr = dxo + i * ds1;
                            for (int t = 0; t < run; t++, wr += c_out) {
                                dr[t] += hsum(wasm_f32x4_mul(dz, wasm_v128_load(wr)));
                            }
                        }
                    }
                }
            }
        }
        for (int t = 0; t < taps * c_out; t++) dw[t] += part[t];
        for (int c = 0; c < c_out; c++) db[c] += pb[c];
    }
}
