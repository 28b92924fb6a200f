/* Single-precision matrix product C (+)= A B for pycnn in the browser (WebAssembly SIMD).
 *
 * Pyodide's numpy has no BLAS and no SIMD: its products run at the speed of scalar
 * WebAssembly. This file is compiled twice for wasm32 (docs/PERFORMANCE.md, "The
 * WebAssembly kernel"): with -msimd128 and with -msimd128 -mrelaxed-simd (fused
 * multiply-add where the browser has it). The module is loaded into Pyodide's own
 * memory by Emscripten's dynamic linker, so it reads and writes numpy's buffers in
 * place; pycnn/kernels/__init__.py calls it once per product.
 *
 * How (the structure of BLIS's "GotoBLAS" loops, written from the papers):
 *   for each block of NC columns of B:
 *     for each block of KC rows of B (the shared dimension):
 *       pack that KC x NC block of B into column panels NR wide, each row of a panel
 *       contiguous (zero-padded past the last column);
 *       for each block of MC rows of A:
 *         pack the MC x KC block of A into row panels MR tall, each column contiguous;
 *         for each NR-wide panel of B, for each MR-tall panel of A:
 *           the micro-kernel: an MR x NR tile of C held in 2*MR f32x4 registers,
 *           updated with KC rank-1 products (broadcast one A value, multiply two B
 *           vectors), then added to C once.
 * Packing reads A and B through arbitrary element strides, so transposed and other
 * strided views of numpy arrays need no copy first; the micro-kernel only ever reads
 * contiguous packed memory. Tiles that stick out past the last row or column of C are
 * computed into a scratch tile and only their valid part is written.
 *
 * Memory: the caller passes every buffer, including `work` (cp_gemm_work_floats()
 * floats) for the packed panels and the scratch tile. The code has no globals, no
 * static data and no stack frame (no local arrays, no address-taken locals), so the
 * module needs nothing from the heap it is loaded into; the tests check its imports.
 */
#include <wasm_simd128.h>

#define MR 4    /* rows of a micro-tile */
#define NR 8    /* columns of a micro-tile: two f32x4 */
#define KC 256  /* depth of a packed block: an MR x KC panel of A (4 KB) stays in L1 */
#define MC 128  /* rows of A packed at once (128 KB with KC = 256: L2) */
#define NC 512  /* columns of B packed at once (512 KB with KC = 256: L2) */

#define WORK_A 0
#define WORK_B (MC * KC)
#define WORK_TILE (WORK_B + KC * NC)
#define WORK_FLOATS (WORK_TILE + MR * NR)

#if defined(__wasm_relaxed_simd__)
#define MADD(a, b, c) wasm_f32x4_relaxed_madd((a), (b), (c)) /* a * b + c, fused if the CPU can */
#else
#define MADD(a, b, c) wasm_f32x4_add(wasm_f32x4_mul((a), (b)), (c))
#endif

#define EXPORT(name) __attribute__((export_name(#name))) name

/* Floats the caller must provide in `work`. */
int EXPORT(cp_gemm_work_floats)(void) { return WORK_FLOATS; }

/* dst[p * MR + i] = A[(i0 + i) * rs + p * cs] for p < kc, i < MR; rows past m are 0. */
static void pack_a(int rows, int kc, const float *a, int rs, int cs, float *dst) {
    int p = 0;
    if (rows == MR && rs == 1) { /* columns of A contiguous (e.g. a transposed view) */
        for (; p < kc; p++) {
            wasm_v128_store(dst + p * MR, wasm_v128_load(a + p * cs));
        }
        return;
    }
    if (rows == MR && cs == 1) { /* rows of A contiguous (the usual layout): 4 x 4 transposes */
        for (; p + 4 <= kc; p += 4) {
            v128_t r0 = wasm_v128_load(a + p), r1 = wasm_v128_load(a + rs + p);
            v128_t r2 = wasm_v128_load(a + 2 * rs + p), r3 = wasm_v128_load(a + 3 * rs + p);
            v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5); /* a00 a10 a01 a11 */
            v128_t t1 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5); /* a20 a30 a21 a31 */
            v128_t t2 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7); /* a02 a12 a03 a13 */
            v128_t t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7); /* a22 a32 a23 a33 */
            wasm_v128_store(dst + p * MR, wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5));
            wasm_v128_store(dst + p * MR + 4, wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7));
            wasm_v128_store(dst + p * MR + 8, wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5));
            wasm_v128_store(dst + p * MR + 12, wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7));
        }
    }
    for (; p < kc; p++) {
        for (int i = 0; i < MR; i++) {
            dst[p * MR + i] = i < rows ? a[i * rs + p * cs] : 0.0f;
        }
    }
}

/* dst[p * NR + j] = B[p * rs + j * cs] for p < kc, j < NR; columns past n are 0. */
static void pack_b(int cols, int kc, const float *b, int rs, int cs, float *dst) {
    if (cols == NR && cs == 1) { /* rows of B contiguous (the usual layout) */
        for (int p = 0; p < kc; p++) {
            wasm_v128_store(dst + p * NR, wasm_v128_load(b + p * rs));
            wasm_v128_store(dst + p * NR + 4, wasm_v128_load(b + p * rs + 4));
        }
        return;
    }
    for (int p = 0; p < kc; p++) {
        for (int j = 0; j < NR; j++) {
            dst[p * NR + j] = j < cols ? b[p * rs + j * cs] : 0.0f;
        }
    }
}

#define ROW_UPDATE(r)                                                                  \
    {                                                                                  \
        v128_t ar = wasm_v128_load32_splat(a + r);                                     \
        c##r##0 = MADD(ar, b0, c##r##0);                                               \
        c##r##1 = MADD(ar, b1, c##r##1);                                               \
    }

#define ROW_STORE(r)                                                                   \
    {                                                                                  \
        float *cr = c + r * ldc;                                                       \
        if (add) {                                                                     \
            c##r##0 = wasm_f32x4_add(c##r##0, wasm_v128_load(cr));                     \
            c##r##1 = wasm_f32x4_add(c##r##1, wasm_v128_load(cr + 4));                 \
        }                                                                              \
        wasm_v128_store(cr, c##r##0);                                                  \
        wasm_v128_store(cr + 4, c##r##1);                                              \
    }

/* C[0:MR, 0:NR] (+)= packed A panel (MR x kc) times packed B panel (kc x NR). */
static void micro_kernel(int kc, const float *restrict a, const float *restrict b, float *c,
                         int ldc, int add) {
    v128_t z = wasm_f32x4_splat(0.0f);
    v128_t c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
    for (int p = 0; p < kc; p++) {
        v128_t b0 = wasm_v128_load(b);
        v128_t b1 = wasm_v128_load(b + 4);
        ROW_UPDATE(0)
        ROW_UPDATE(1)
        ROW_UPDATE(2)
        ROW_UPDATE(3)
        a += MR;
        b += NR;
    }
    ROW_STORE(0)
    ROW_STORE(1)
    ROW_STORE(2)
    ROW_STORE(3)
}

/* Adds a computed tile (rows x cols of it, row stride NR) into C at c + row[i] + col[j],
 * element by element in order, so places that repeat (overlapping windows) add up. */
static void add_tile_at(int rows, int cols, const float *tile, float *c, const int *row,
                        const int *col, int run) {
    for (int i = 0; i < rows; i++) {
        float *ci = c + row[i];
        if (run) { /* the tile's columns are NR adjacent floats of C */
            float *cr = ci + col[0];
            wasm_v128_store(cr, wasm_f32x4_add(wasm_v128_load(cr), wasm_v128_load(tile + i * NR)));
            wasm_v128_store(cr + 4,
                            wasm_f32x4_add(wasm_v128_load(cr + 4), wasm_v128_load(tile + i * NR + 4)));
            continue;
        }
        for (int j = 0; j < cols; j++) ci[col[j]] += tile[i * NR + j];
    }
}

/* The blocked product of A (m x k, element strides a_rs, a_cs) and B (k x n; b_rs, b_cs).
 * Without `row`: C (row stride ldc) = A B, or C += A B when `accumulate`. With `row` and
 * `col` (m and n offsets in floats): (A B)[i, j] is added to c[row[i] + col[j]]. */
static void gemm(int m, int n, int k, const float *a, int a_rs, int a_cs, const float *b,
                 int b_rs, int b_cs, float *c, int ldc, const int *row, const int *col,
                 int accumulate, float *work) {
    float *pa = work + WORK_A, *pb = work + WORK_B, *tile = work + WORK_TILE;
    if (k == 0 && !accumulate && !row) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) c[i * ldc + j] = 0.0f;
        }
    }
    for (int jc = 0; jc < n; jc += NC) {
        int nc = n - jc < NC ? n - jc : NC;
        /* depth blocks of equal size (e.g. 145 + 144, not 256 + 33): no short last block */
        int kb = (k + KC - 1) / KC;
        int kstep = kb ? (k + kb - 1) / kb : 0;
        for (int pc = 0; pc < k; pc += kstep) {
            int kc = k - pc < kstep ? k - pc : kstep;
            int add = accumulate || pc > 0;
            for (int jr = 0; jr < nc; jr += NR) {
                int cols = nc - jr < NR ? nc - jr : NR;
                pack_b(cols, kc, b + pc * b_rs + (jc + jr) * b_cs, b_rs, b_cs, pb + jr * kc);
            }
            for (int ic = 0; ic < m; ic += MC) {
                int mc = m - ic < MC ? m - ic : MC;
                for (int ir = 0; ir < mc; ir += MR) {
                    int rows = mc - ir < MR ? mc - ir : MR;
                    pack_a(rows, kc, a + (ic + ir) * a_rs + pc * a_cs, a_rs, a_cs, pa + ir * kc);
                }
                for (int jr = 0; jr < nc; jr += NR) {
                    int cols = nc - jr < NR ? nc - jr : NR;
                    int run = cols == NR;
                    for (int j = 1; row && j < cols; j++) run &= col[jc + jr + j] == col[jc + jr] + j;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int rows = mc - ir < MR ? mc - ir : MR;
                        float *cij = c + (ic + ir) * ldc + jc + jr;
                        if (!row && rows == MR && cols == NR) {
                            micro_kernel(kc, pa + ir * kc, pb + jr * kc, cij, ldc, add);
                            continue;
                        }
                        /* compute the tile whole into the scratch tile, then keep its valid part */
                        micro_kernel(kc, pa + ir * kc, pb + jr * kc, tile, NR, 0);
                        if (row) {
                            add_tile_at(rows, cols, tile, c, row + ic + ir, col + jc + jr, run);
                            continue;
                        }
                        for (int i = 0; i < rows; i++) {
                            for (int j = 0; j < cols; j++) {
                                cij[i * ldc + j] = add ? cij[i * ldc + j] + tile[i * NR + j]
                                                       : tile[i * NR + j];
                            }
                        }
                    }
                }
            }
        }
    }
}

/* C (m x n, row stride ldc) = A B, or C += A B when `accumulate`.
 * A is m x k with element strides (a_rs, a_cs); B is k x n with (b_rs, b_cs).
 * C must not overlap A, B or work. Any of m, n, k may be 0. */
void EXPORT(cp_gemm)(int m, int n, int k, const float *a, int a_rs, int a_cs, const float *b,
                     int b_rs, int b_cs, float *c, int ldc, int accumulate, float *work) {
    gemm(m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, 0, 0, accumulate, work);
}

/* c[row[i] + col[j]] += (A B)[i, j] for i < m, j < n (A, B as in cp_gemm; row: m ints,
 * col: n ints, offsets in floats). A convolution's input gradient in one call: row i is an
 * output pixel (where its window starts in the input), column j a kernel element (where
 * it sits in the window), so the product's result lands in the window it came from
 * (col2im) while it is in registers. Places may repeat; they add up. */
void EXPORT(cp_gemm_add_at)(int m, int n, int k, const float *a, int a_rs, int a_cs,
                            const float *b, int b_rs, int b_cs, float *c, const int *row,
                            const int *col, float *work) {
    gemm(m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, 0, row, col, 1, work);
}

/* ------------------------------------------------------------------ max pool over blocks
 * The fused Conv2D + max pool (pycnn/ops.py, conv2d_maxpool_forward) holds each pool
 * window's candidates as `blocks` contiguous blocks of `size` floats: z[b * size + i].
 * These two loops are its element-wise work, one pass each instead of numpy's one pass
 * per operation, with the same arithmetic (results equal to the numpy code bit for bit). */

static inline v128_t max4(v128_t a, v128_t b) { return wasm_f32x4_max(a, b); } /* NaN wins, like np.maximum */

static inline float max1(float a, float b) { return (a != a || a > b) ? a : b; }

/* zmax[i] = max over b of z[b * size + i]; out[i] = max(zmax[i], 0) if relu else zmax[i]. */
void EXPORT(cp_pool_max)(int blocks, int size, const float *z, float *zmax, float *out,
                         int relu) {
    v128_t zero = wasm_f32x4_splat(0.0f);
    int i = 0;
    for (; i + 4 <= size; i += 4) {
        v128_t m = wasm_v128_load(z + i);
        for (int b = 1; b < blocks; b++) m = max4(m, wasm_v128_load(z + b * size + i));
        wasm_v128_store(zmax + i, m);
        wasm_v128_store(out + i, relu ? max4(m, zero) : m);
    }
    for (; i < size; i++) {
        float m = z[i];
        for (int b = 1; b < blocks; b++) m = max1(m, z[b * size + i]);
        zmax[i] = m;
        out[i] = relu ? max1(m, 0.0f) : m;
    }
}

/* The gradient of cp_pool_max: grad[i] (times the ReLU mask zmax[i] > 0 if relu) goes to
 * the first block b whose z equals zmax[i]; the last block takes whatever is left. As in
 * numpy: rest = grad * mask; for each block but the last, dz = rest * hit, rest -= dz. */
void EXPORT(cp_pool_route)(int blocks, int size, const float *z, const float *zmax,
                           const float *grad, int relu, float *dz) {
    v128_t zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
    int i = 0;
    for (; i + 4 <= size; i += 4) {
        v128_t m = wasm_v128_load(zmax + i);
        v128_t rest = wasm_v128_load(grad + i);
        if (relu) rest = wasm_f32x4_mul(rest, wasm_v128_and(wasm_f32x4_gt(m, zero), one));
        for (int b = 0; b + 1 < blocks; b++) {
            v128_t hit = wasm_v128_and(wasm_f32x4_eq(wasm_v128_load(z + b * size + i), m), one);
            v128_t taken = wasm_f32x4_mul(rest, hit);
            wasm_v128_store(dz + b * size + i, taken);
            rest = wasm_f32x4_sub(rest, taken);
        }
        wasm_v128_store(dz + (blocks - 1) * size + i, rest);
    }
    for (; i < size; i++) {
        float m = zmax[i];
        float rest = grad[i];
        if (relu) rest = rest * (m > 0.0f ? 1.0f : 0.0f);
        for (int b = 0; b + 1 < blocks; b++) {
            float taken = rest * (z[b * size + i] == m ? 1.0f : 0.0f);
            dz[b * size + i] = taken;
            rest = rest - taken;
        }
        dz[(blocks - 1) * size + i] = rest;
    }
}

/* ------------------------------------------------------------------ im2col
 * The patches of a convolution as rows of a matrix (pycnn/ops.py, _im2col): row r of
 * `dst` (row stride ldc floats) holds one window of `src`, kh x kw x c floats in that
 * order. Rows are numbered by five nested indices (d0 outermost) of sizes n0..n4; index
 * d_t moves the window's origin in `src` by s_t floats. Inside a window, (i, j, ch) reads
 * src[origin + i * si + j * sj + ch * sc]. numpy copies this one run of c floats at a
 * time through its iterator, which costs more than the copy itself for small images and
 * few channels (3-5x slower in WebAssembly than natively); here it is one pass. */
void EXPORT(cp_im2col)(const float *src, float *dst, int ldc, int n0, int n1, int n2, int n3,
                       int n4, int s0, int s1, int s2, int s3, int s4, int kh, int kw, int c,
                       int si, int sj, int sc) {
    /* a window row is one run of kw * c floats when its columns and channels are adjacent */
    int run = c, runs = kw;
    if (sc == 1 && sj == c) {
        run = kw * c;
        runs = 1;
    }
    float *row = dst;
    for (int d0 = 0; d0 < n0; d0++) {
        for (int d1 = 0; d1 < n1; d1++) {
            for (int d2 = 0; d2 < n2; d2++) {
                for (int d3 = 0; d3 < n3; d3++) {
                    const float *origin = src + d0 * s0 + d1 * s1 + d2 * s2 + d3 * s3;
                    for (int d4 = 0; d4 < n4; d4++, origin += s4, row += ldc) {
                        float *out = row;
                        for (int i = 0; i < kh; i++) {
                            const float *in = origin + i * si;
                            for (int j = 0; j < runs; j++, in += sj, out += run) {
                                if (run == 3 && sc == 1) { /* a 3-wide window, one channel */
                                    out[0] = in[0];
                                    out[1] = in[1];
                                    out[2] = in[2];
                                } else if (sc == 1) {
                                    for (int t = 0; t < run; t++) out[t] = in[t];
                                } else {
#pragma clang loop vectorize(disable)
                                    for (int t = 0; t < run; t++) out[t] = in[t * sc];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/* ------------------------------------------------------------------ the output layer
 * A model's last step in training is a Dense layer, softmax and the cross-entropy loss,
 * then the gradients back through that layer: in numpy about twenty small calls, each of
 * which costs several times more in WebAssembly than natively (docs/PERFORMANCE.md,
 * "Per-step overhead"). cp_dense_xent does the chain in one call, with the same formulas
 * as pycnn/losses.py (which stays the reference and runs natively).
 *
 * The module links no libc, so exp and log are here: both computed in double and rounded
 * once to float (a polynomial after the usual range reduction), i.e. within an ulp of
 * the correctly rounded float result, which is what numpy's float32 exp and log give. */

static inline double pow2(int e) { /* 2^e for -1022 <= e <= 1023 */
    return __builtin_bit_cast(double, (long long)(e + 1023) << 52);
}

static float exp_f32(float xf) {
    if (xf != xf) return xf;
    if (xf > 89.0f) return __builtin_inff(); /* e^88.73 is past the largest float */
    if (xf < -104.0f) return 0.0f;          /* below half the smallest subnormal */
    double x = xf;
    /* x = n ln2 + r with |r| <= ln2 / 2; e^r by its Taylor series (the next term < 2e-10) */
    double n = __builtin_nearbyint(x * 1.4426950408889634);
    double r = x - n * 0.6931471805599453;
    double p = 1.0 / 40320;
    p = p * r + 1.0 / 5040;
    p = p * r + 1.0 / 720;
    p = p * r + 1.0 / 120;
    p = p * r + 1.0 / 24;
    p = p * r + 1.0 / 6;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    return (float)(p * pow2((int)n));
}

static float log_f32(float xf) {
    if (xf != xf || xf == __builtin_inff()) return xf;
    if (xf <= 0.0f) return xf == 0.0f ? -__builtin_inff() : __builtin_nanf("");
    /* x = m 2^e with sqrt(1/2) <= m < sqrt(2) (every positive float is a normal double);
     * log(m) = 2 atanh(f) with f = (m - 1) / (m + 1), |f| <= 0.172: its series to f^15 */
    long long bits = __builtin_bit_cast(long long, (double)xf);
    int e = (int)(bits >> 52) - 1023;
    double m = __builtin_bit_cast(double, (bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL);
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e += 1;
    }
    double f = (m - 1.0) / (m + 1.0), f2 = f * f;
    double s = 1.0 / 15;
    s = s * f2 + 1.0 / 13;
    s = s * f2 + 1.0 / 11;
    s = s * f2 + 1.0 / 9;
    s = s * f2 + 1.0 / 7;
    s = s * f2 + 1.0 / 5;
    s = s * f2 + 1.0 / 3;
    s = s * f2 + 1.0;
    return (float)(e * 0.6931471805599453 + 2.0 * f * s);
}

/* A Dense layer of `classes` units on n rows of `in` features, softmax and cross-entropy:
 *   z = x W + b; m_i = max_j z_ij; s_ij = z_ij - m_i; lse_i = log(sum_j exp(s_ij))
 *   loss_i = lse_i - s_i,label;  g_ij = (exp(s_ij) / sum_j exp(s_ij) - [j == label_i]) / n
 *   dW = x^T g (in x classes), db = sum_i g_i, dx = g W^T (n x in; skipped if dx is 0)
 * x: element strides (x_rs, x_cs); w (in x classes), b, dw, db, dx: contiguous; labels:
 * n int32; g: n x classes floats (holds z, then the gradient). stats[0] = sum of loss_i,
 * stats[1] = rows whose first largest z is the label, or -1 if a label is not a class
 * (then nothing else is written). A NaN in z makes its row's loss and gradient NaN. */
void EXPORT(cp_dense_xent)(int n, int in, int classes, const float *x, int x_rs, int x_cs,
                           const float *w, const float *b, const int *labels, float *g,
                           float *dw, float *db, float *dx, double *stats, float *work) {
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= classes) {
            stats[0] = 0.0;
            stats[1] = -1.0;
            return;
        }
    }
    cp_gemm(n, classes, in, x, x_rs, x_cs, w, classes, 1, g, classes, 0, work);
    double loss = 0.0;
    int correct = 0;
    float count = (float)n;
    for (int j = 0; j < classes; j++) db[j] = 0.0f;
    for (int i = 0; i < n; i++) {
        float *z = g + i * classes;
        int label = labels[i], best = 0;
        for (int j = 0; j < classes; j++) z[j] = z[j] + b[j];
        float m = z[0];
        for (int j = 1; j < classes; j++) m = max1(m, z[j]);
        for (int j = 1; j < classes && z[best] == z[best]; j++) {
            if (z[j] != z[j] || z[j] > z[best]) best = j; /* like argmax: NaN first, then the first maximum */
        }
        correct += best == label;
        float sum = 0.0f, shifted = z[label] - m;
        for (int j = 0; j < classes; j++) {
            z[j] = exp_f32(z[j] - m);
            sum += z[j];
        }
        loss -= (double)(shifted - log_f32(sum));
        for (int j = 0; j < classes; j++) {
            float p = z[j] / sum; /* exp(s - lse) in the numpy code: the same to rounding */
            z[j] = (j == label ? p - 1.0f : p) / count;
            db[j] += z[j];
        }
    }
    stats[0] = loss;
    stats[1] = correct;
    cp_gemm(in, classes, n, x, x_cs, x_rs, g, classes, 1, dw, classes, 0, work);
    if (dx) cp_gemm(n, in, classes, g, classes, 1, w, 1, classes, dx, in, 0, work);
}
