"""Fast float32 matrix products for pycnn in the browser: a WebAssembly SIMD kernel.

In the browser pycnn runs on Pyodide's numpy, which has no BLAS and no SIMD:
its products run at the speed of scalar WebAssembly, and they are most of a
training step. ``gemm.c`` (next to this file) is a small register-blocked
SGEMM with 128-bit SIMD; the build compiles it twice (``-msimd128``, and with
``-mrelaxed-simd`` for a fused multiply-add where the browser has it), and the
Pyodide worker (``site-src/worker.js`` with ``site-src/kernel.js``) picks the
build this browser can run, loads it with Emscripten's own dynamic linker -- so it lives in Pyodide's
``WebAssembly.Memory`` and reads and writes numpy's buffers in place -- and
hands its exports to :func:`install`. From then on :mod:`pycnn.products` sends its
products here -- and the element-wise passes of the fused conv + max pool,
which numpy in WebAssembly runs one slow pass per operation -- one call through
Pyodide's JS bridge each (a few microseconds), with the arrays' addresses from
``ndarray.ctypes.data``.

``conv.c``, linked into the same module, computes a convolution with few inputs
per output (a first layer on grey or colour images) together with its ReLU and
max pool straight from the image, and its gradients: the fused step
(:class:`pycnn.layers.fused.ConvMaxPool`) calls :meth:`WasmKernels.conv_pool`
for the shapes it takes.

Nothing here runs on desktop CPython (numpy's BLAS is faster there) or when the
kernel is absent: :mod:`pycnn.products` then uses numpy. See
``docs/PERFORMANCE.md`` ("In the browser: the WebAssembly kernel") for the
measurements.
"""

from __future__ import annotations

import weakref

import numpy as np

from .. import losses, ops, products

__all__ = ["DIRECT_TAPS", "MAX_CALL_MACS", "WasmKernels", "install"]

# Work per kernel call, in multiply-adds: a bigger product is split into several calls
# (rows of A, or slices of the shared dimension), so no single call holds the worker
# for more than a few milliseconds.
MAX_CALL_MACS = 1 << 24

# The direct convolution (conv.c) takes windows of at most this many numbers
# (kh * kw * C_in): below it, im2col and a product waste more than they save.
DIRECT_TAPS = 32

_F32 = np.dtype(np.float32)


def _in_floats(a: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """``a`` and its strides in floats, the way the kernel addresses a float32 array: ``a``
    itself, or a C-contiguous copy when a stride is not a whole number of floats."""
    if any(s % 4 for s in a.strides):
        a = np.ascontiguousarray(a)
    return a, tuple(s // 4 for s in a.strides)


def _calls(m: int, k: int, n: int):
    """``(first row, rows, first depth, depth)`` of each kernel call for an (m, k) (k, n) product.

    One call up to :data:`MAX_CALL_MACS`; beyond, slices of the longer of the rows of A and
    the shared dimension (slices of that one accumulate in place): each call packs its own
    part of the longer operand, so a weight gradient's tall B is packed once, not per call.
    """
    if m * k * n <= MAX_CALL_MACS:
        return ((0, m, 0, k),)
    if k * n <= MAX_CALL_MACS and (m >= k or m * n > MAX_CALL_MACS):
        rows = MAX_CALL_MACS // (k * n)
        return [(i, min(rows, m - i), 0, k) for i in range(0, m, rows)]
    depth = max(1, MAX_CALL_MACS // (m * n))
    return [(0, m, p, min(depth, k - p)) for p in range(0, k, depth)]


def _rows_of_pixels(x: np.ndarray) -> tuple[np.ndarray, int, int]:
    """``(x, image stride, row stride)`` in floats for (N, H, W, C) float32 ``x``, copied
    unless each row's pixels are one run of W * C floats (as the direct convolution reads)."""
    _, _, w, c = x.shape
    x, (s0, s1, s2, s3) = _in_floats(x)
    if not ((s3 == 1 or c == 1) and (s2 == c or w == 1)):
        x, (s0, s1, _, _) = _in_floats(np.ascontiguousarray(x))
    return x, s0, s1


class WasmKernels:
    """The kernel's exports in the shape :func:`pycnn.products.use_kernels` takes.

    ``exports`` are the instantiated module's exports (a JsProxy in Pyodide); ``name``
    says which build runs (``"wasm-simd"`` or ``"wasm-relaxed-simd"``). ``calls``
    counts the kernel calls, so a test can see the kernel was used.
    """

    def __init__(self, exports, name: str) -> None:
        self.name = name
        self.calls = 0
        self._gemm = exports.cp_gemm
        self._gemm_add_at = exports.cp_gemm_add_at
        self._pool_max = exports.cp_pool_max
        self._pool_route = exports.cp_pool_route
        self._im2col = exports.cp_im2col
        self._dense_xent = exports.cp_dense_xent
        self._conv_pool = exports.cp_conv_pool
        self._conv_pool_grad = exports.cp_conv_pool_grad
        # packed panels and a scratch tile; the kernel itself has no memory of its own
        self._work = np.empty(int(exports.cp_gemm_work_floats()), dtype=np.float32)
        self._work_address = self._work.ctypes.data
        self._addresses: dict[int, tuple] = {}
        self._stats = np.zeros(2)  # what cp_dense_xent reports: the loss sum, rows right
        self._stats_address = self._stats.ctypes.data

    def _address(self, a: np.ndarray) -> int:
        """``a.ctypes.data``, remembered for arrays seen before.

        Asking numpy costs ~3 us in Pyodide, a noticeable share of a small model's step
        when a layer keeps its buffers from batch to batch (:class:`pycnn.ops.Scratch`).
        Entries hold the array weakly, so a dead array's reused ``id`` never matches. A
        view that covers all of a known array's memory in one piece (a reshape, a
        transpose) starts where that array starts.
        """
        known = self._addresses.get(id(a))
        if known is not None and known[0]() is a:
            return known[1]
        base = a.base
        if base is not None and (a.flags.c_contiguous or a.flags.f_contiguous):
            known = self._addresses.get(id(base))
            if (
                known is not None
                and known[0]() is base
                and isinstance(base, np.ndarray)
                and base.nbytes == a.nbytes
                and base.flags.c_contiguous
            ):
                return known[1]
        if len(self._addresses) > 256:
            self._addresses.clear()
        address = a.ctypes.data
        self._addresses[id(a)] = (weakref.ref(a), address)
        return address

    def matmul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``a @ b`` for 2-D arrays, as a new C-contiguous array or in ``out``.

        Any strides (transposed and sliced views included) are read in place;
        arrays that are not float32 go to numpy. ``out``: a C-contiguous float32
        array of ``m * n`` elements (any shape).
        """
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not fit")
        if a.dtype != _F32 or b.dtype != _F32 or (out is not None and out.dtype != _F32):
            result = a @ b
            if out is None:
                return result
            np.copyto(out.reshape(result.shape), result)
            return out
        a, sa = _in_floats(a)
        b, sb = _in_floats(b)
        m, k = a.shape
        n = b.shape[1]
        if out is None:
            out = np.empty((m, n), dtype=_F32)
        elif out.size != m * n or not out.flags.c_contiguous:
            raise ValueError(f"matmul: out {out.shape} cannot hold the {m} x {n} product")
        if m == 0 or n == 0:
            return out
        address = self._address
        pa, pb, pc, work = address(a), address(b), address(out), self._work_address
        for i, r, p, d in _calls(m, k, n):
            self._gemm(r, n, d, pa + 4 * (i * sa[0] + p * sa[1]), sa[0], sa[1],
                       pb + 4 * p * sb[0], sb[0], sb[1], pc + 4 * i * n, n, int(p > 0), work)  # fmt: skip
            self.calls += 1
        return out

    def add_product_at(self, a, b, dst, rows, cols) -> None:
        """``dst.flat[rows[i] + cols[j]] += (a @ b)[i, j]`` (:func:`pycnn.products.add_product_at`).

        a, b: float32, 2-D, any whole-float strides; dst: C-contiguous float32; rows, cols:
        C-contiguous int32 offsets in elements, every place inside ``dst``.
        """
        (a, sa), (b, sb) = _in_floats(a), _in_floats(b)
        (m, k), n = a.shape, b.shape[1]
        address = self._address
        pa, pb, pc, work = address(a), address(b), address(dst), self._work_address
        prows, pcols = address(rows), address(cols)
        for i, r, p, d in _calls(m, k, n):
            self._gemm_add_at(r, n, d, pa + 4 * (i * sa[0] + p * sa[1]), sa[0], sa[1],
                              pb + 4 * p * sb[0], sb[0], sb[1], pc, prows + 4 * i, pcols, work)  # fmt: skip
            self.calls += 1

    def im2col(self, blocks: np.ndarray, src: np.ndarray, strides: tuple[int, ...]) -> None:
        """Fill ``blocks`` with the 8-D view of ``src`` that ``strides`` (bytes) describe.

        blocks: a float32 (n0, n1, n2, n3, n4, kh, kw, c) view of the im2col matrix whose
        first five axes number its rows and whose last three are contiguous within a
        row (see :func:`pycnn.ops._im2col`); src: float32, any strides.
        """
        if blocks.size:
            s = [st // 4 for st in strides]
            # the distance between rows: the stride of the innermost row axis longer than 1
            # (numpy may give a length-1 axis any stride)
            ldc = next(
                (st for n, st in zip(blocks.shape[4::-1], blocks.strides[4::-1]) if n > 1), 0
            )
            self._im2col(self._address(src), self._address(blocks), ldc // 4,
                         *blocks.shape[:5], *s[:5], *blocks.shape[5:], *s[5:])  # fmt: skip
            self.calls += 1

    def dense_xent(self, x, kernel, bias, labels, g, dkernel, dbias, dx=None):
        """The output Dense layer's training step (see :func:`pycnn.products.dense_cross_entropy`).

        Returns ``(loss summed over the rows, rows right)``, or None for arrays it does not
        take (labels not 32-bit, an empty batch): numpy then. ``x`` in any layout.
        Labels that are not classes raise IndexError, as numpy's indexing does.
        """
        x, sx = _in_floats(x)
        if (
            labels.dtype != np.int32
            or not (labels.flags.c_contiguous and kernel.flags.c_contiguous)
            or not bias.flags.c_contiguous
            or x.shape[0] == 0
        ):
            return None
        n, units = g.shape
        address = self._address
        self._dense_xent(n, x.shape[1], units, address(x), sx[0], sx[1], address(kernel),
                         address(bias), address(labels), address(g), address(dkernel),
                         address(dbias), 0 if dx is None else address(dx), self._stats_address,
                         self._work_address)  # fmt: skip
        self.calls += 1
        loss_sum, correct = self._stats
        if correct < 0:
            raise IndexError(f"labels must be in [0, {units - 1}]; received {labels.tolist()}")
        return float(loss_sum), int(correct)

    def takes_conv_pool(self, x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> bool:
        """Whether :meth:`conv_pool` computes a conv of this ``kernel`` and ``bias`` on ``x``.

        Few inputs per output (``kh * kw * C_in <= DIRECT_TAPS``), whole groups of four
        filters, float32 everywhere.
        """
        kh, kw, c_in, c_out = kernel.shape
        return (
            kh * kw * c_in <= DIRECT_TAPS
            and c_out % 4 == 0
            and (kh * kw * c_in + 1) * c_out <= self._work.size  # the gradient's sums
            and x.dtype == kernel.dtype == bias.dtype == _F32
            and kernel.flags.c_contiguous
            and bias.flags.c_contiguous
        )

    def conv_pool(self, xp, kernel, bias, strides, pool, relu: bool, out, route=None) -> None:
        """Conv2D (no padding), ReLU if ``relu``, then a tiling max pool, from ``xp`` directly.

        xp: (N, H, W, C_in) float32, already padded; copied first unless its pixels are
        contiguous within a row (the kernel reads a window row as one run);
        kernel: (kh, kw, C_in, C_out) (:meth:`takes_conv_pool`); out: (N, Hp, Wp, C_out)
        C-contiguous float32 to fill; route: int32 like ``out`` for :meth:`conv_pool_grad`
        (where each window's gradient goes), or None for inference.
        """
        n, hp, wp, c_out = out.shape
        if out.size == 0:
            return
        kh, kw, c_in, _ = kernel.shape
        xp, xs0, xs1 = _rows_of_pixels(xp)
        address = self._address
        self._conv_pool(n, hp, wp, c_out, kh, kw, c_in, *strides, *pool, address(xp), xs0, xs1,
                        address(kernel), address(bias), int(relu), address(out),
                        0 if route is None else address(route))  # fmt: skip
        self.calls += 1

    def conv_pool_grad(self, xp, grad, route, kernel, strides, pool, dkernel, dbias, dxp=None):
        """The gradients of :meth:`conv_pool` from ``grad`` = dL/d out and its ``route``.

        Fills ``dkernel`` and ``dbias`` (C-contiguous float32) and, if given, adds dL/d xp
        into ``dxp`` (zeros, C-contiguous, shaped like ``xp``).
        """
        n, hp, wp, c_out = route.shape
        kh, kw, c_in, _ = kernel.shape
        if route.size == 0:
            dkernel[...] = 0
            dbias[...] = 0
            return
        grad = np.ascontiguousarray(grad, dtype=_F32)
        xp, xs0, xs1 = _rows_of_pixels(xp)
        address = self._address
        ds = (0, 0) if dxp is None else (dxp.strides[0] // 4, dxp.strides[1] // 4)
        self._conv_pool_grad(n, hp, wp, c_out, kh, kw, c_in, *strides, *pool, address(xp), xs0,
                             xs1, address(grad), address(route),
                             address(kernel), address(dkernel), address(dbias),
                             0 if dxp is None else address(dxp), *ds, self._work_address)  # fmt: skip
        self.calls += 1

    def pool_max(self, z: np.ndarray, relu: bool, out=None) -> tuple[np.ndarray, np.ndarray]:
        """``(z_max, out)``: the maximum over ``z``'s first axis, and its ReLU if ``relu``.

        z: float32, C-contiguous, (P, ...) -- the fused max pool's candidate blocks.
        ``out``: a pair of C-contiguous float32 arrays shaped like ``z[0]`` to fill.
        """
        z = np.ascontiguousarray(z, dtype=_F32)
        if out is None:
            out = (np.empty(z.shape[1:], dtype=_F32), np.empty(z.shape[1:], dtype=_F32))
        z_max, result = out
        if z_max.size:
            address = self._address
            self._pool_max(z.shape[0], z_max.size, address(z), address(z_max), address(result),
                           int(relu))  # fmt: skip
            self.calls += 1
        return z_max, result

    def pool_route(self, z, z_max, grad, relu: bool, out=None) -> np.ndarray:
        """``dz``: each ``grad`` element (ReLU-masked if ``relu``) sent to the first block of
        ``z`` equal to ``z_max``, zeros elsewhere; shaped like ``z`` (``out``, if given:
        C-contiguous float32)."""
        z = np.ascontiguousarray(z, dtype=_F32)
        z_max = np.ascontiguousarray(z_max, dtype=_F32)
        grad = np.ascontiguousarray(grad, dtype=_F32)
        dz = np.empty(z.shape, dtype=_F32) if out is None else out
        if z_max.size:
            address = self._address
            self._pool_route(z.shape[0], z_max.size, address(z), address(z_max), address(grad),
                             int(relu), address(dz))  # fmt: skip
            self.calls += 1
        return dz


def install(exports, name: str) -> WasmKernels | None:
    """Check the kernel on small inputs and make :mod:`pycnn.products` use it.

    Returns the installed :class:`WasmKernels`, or None (and numpy stays in
    charge) if one of its answers differs from numpy's: training must never
    depend on a kernel that computes something else.
    """
    kernels = WasmKernels(exports, name)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((37, 19)).astype(np.float32)
    b = rng.standard_normal((19, 11)).astype(np.float32)
    z = rng.integers(-2, 3, size=(4, 3, 7)).astype(np.float32)  # ties and ReLU zeros
    z_max, out = kernels.pool_max(z, relu=True)
    dz = kernels.pool_route(z, z_max, a[:3, :7], relu=True)
    first = (z == z.max(axis=0)).argmax(axis=0)  # the first block holding the maximum
    want = np.where(np.arange(4)[:, None, None] == first, a[:3, :7] * (z_max > 0), 0)
    if not (
        np.allclose(kernels.matmul(a, b), a @ b, rtol=1e-5, atol=1e-5)
        and np.array_equal(z_max, z.max(axis=0))
        and np.array_equal(out, np.maximum(z.max(axis=0), 0))
        and np.array_equal(dz, want)
        and _dense_xent_agrees(kernels, a, b)
        and _conv_pool_agrees(kernels)
    ):
        return None
    kernels.calls = 0
    products.use_kernels(kernels)
    return kernels


def _dense_xent_agrees(kernels: WasmKernels, x: np.ndarray, w: np.ndarray) -> bool:
    """Whether the kernel's output-layer step gives numpy's loss and gradients (or declines)."""
    n, classes = x.shape[0], w.shape[1]
    bias = np.linspace(-1, 1, classes, dtype=np.float32)
    labels = np.arange(n, dtype=np.intp) % classes  # 32-bit in Pyodide, as the kernel takes
    g, dw, db, dx = (np.empty(s, np.float32) for s in ((n, classes), w.shape, bias.shape, x.shape))
    done = kernels.dense_xent(x, w, bias, labels, g, dw, db, dx)
    if done is None:
        return True
    z = x @ w + bias
    loss, want = losses.softmax_cross_entropy(z, labels)
    pairs = [(done[0] / n, loss), (g, want), (dw, x.T @ want), (db, want.sum(0)), (dx, want @ w.T)]
    return done[1] == np.count_nonzero(z.argmax(axis=1) == labels) and all(
        np.allclose(got, ref, rtol=1e-4, atol=1e-6) for got, ref in pairs
    )


def _conv_pool_agrees(kernels: WasmKernels) -> bool:
    """Whether the direct convolution gives numpy's fused conv + pool and its gradients."""
    rng = np.random.default_rng(1)
    x = rng.integers(-2, 3, size=(2, 5, 6, 1)).astype(np.float32)  # ties and ReLU zeros
    kernel = rng.integers(-1, 2, size=(2, 2, 1, 4)).astype(np.float32)
    bias = np.array([0, 1, -1, 0], dtype=np.float32)
    want, cache = ops.conv2d_maxpool_forward(x, kernel, bias, (1, 1), "valid", (2, 2), relu=True)
    g = rng.standard_normal(want.shape).astype(np.float32)
    grads = ops.conv2d_maxpool_backward(g, cache)  # (dx, dkernel, dbias)
    out, route = np.empty_like(want), np.empty(want.shape, dtype=np.int32)
    kernels.conv_pool(x, kernel, bias, (1, 1), (2, 2), True, out, route)
    got = (np.zeros_like(x), np.empty_like(kernel), np.empty_like(bias))
    kernels.conv_pool_grad(x, g, route, kernel, (1, 1), (2, 2), got[1], got[2], got[0])
    return np.array_equal(out, want) and all(
        np.allclose(a, b, rtol=1e-5, atol=1e-5) for a, b in zip(got, grads)
    )
