"""Matrix products, and the compiled kernel that can take them over.

Most of a training step is matrix products: the convolutions of
:mod:`pycnn.ops` (im2col rows times the kernel) and the Dense layers. They
run unchanged on desktop CPython (numpy with a BLAS) and in the browser
(Pyodide: numpy 2.0.2 built *without* BLAS), computed the fastest way each
place allows:

* **BLAS** (desktop): numpy's ``@``.
* **A compiled kernel** (the browser): :mod:`pycnn.kernels` installs a
  WebAssembly SIMD kernel with :func:`use_kernels`. It also takes the two
  element-wise passes of the fused conv + max pool (:func:`pool_max`,
  :func:`pool_route`), which numpy in WebAssembly runs one slow pass per
  operation.
* **Neither**: numpy's ``@`` is then a plain triple loop; its ``einsum``
  loops are about twice as fast when the innermost loop runs along the
  longer axis, so the products are ``einsum`` calls with the order picked
  from the shapes.

Everything a kernel can take over is here, next to the numpy code that runs
without one. ``docs/PERFORMANCE.md`` has the measurements behind each choice.

Shapes: ``a`` is (M, K), ``b`` is (K, F); each product returns a C-contiguous
(M, F) result.
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = [
    "HAVE_BLAS",
    "KERNELS",
    "add_product_at",
    "copy_windows",
    "dense_cross_entropy",
    "matmul",
    "mm",
    "mm_tn",
    "pool_max",
    "pool_route",
    "use_kernels",
]


def _numpy_has_blas() -> bool:
    """True when numpy's matmul is backed by a BLAS library.

    Pyodide's numpy is built without one; there every product goes through
    numpy's own loops and a different formulation is faster (see module doc).
    """
    if sys.platform == "emscripten":
        return False
    try:
        info = np.show_config(mode="dicts")
        return bool(info["Build Dependencies"]["blas"].get("found", True))
    except (AttributeError, KeyError, TypeError, ValueError):  # odd builds: assume BLAS
        return True


HAVE_BLAS: bool = _numpy_has_blas()

# Kernels for float32 work where numpy has no BLAS (pycnn.kernels.WasmKernels): matmul(a, b)
# for 2-D arrays of any strides, and the fused max pool's pool_max / pool_route passes.
KERNELS = None


def use_kernels(kernels) -> None:
    """Compute the products and fused max pools with ``kernels`` (None: numpy again)."""
    global KERNELS
    KERNELS = kernels


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for 2-D arrays (Dense layers), into ``out`` (C-contiguous) if given; with
    the kernel above ~32k multiply-adds (below, a kernel call's Python side costs more
    than numpy's ``@`` in the browser)."""
    if KERNELS is not None and a.shape[0] * a.shape[1] * b.shape[1] >= _KERNEL_MIN_MACS:
        return KERNELS.matmul(a, b, out)
    return np.matmul(a, b, out=out)


_KERNEL_MIN_MACS = 1 << 15


def _into(out: np.ndarray | None, result: np.ndarray) -> np.ndarray:
    """``result``, or ``out`` holding a copy of it (``out``: C-contiguous, any shape of that size)."""
    if out is None:
        return result
    np.copyto(out.reshape(result.shape), result)
    return out


def mm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for a C-contiguous (M, K) ``a`` and a small (K, F) ``b``.

    ``out``: a C-contiguous array of M*F elements (any shape) to write the result into.
    """
    if KERNELS is not None:
        return KERNELS.matmul(a, b, out)
    o = None if out is None else out.reshape(a.shape[0], b.shape[1])  # a view: out is contiguous
    if HAVE_BLAS:
        if out is None:
            return a @ b
        np.matmul(a, b, out=o)
        return out
    # numpy's einsum loops beat its no-BLAS matmul ~2x. Its innermost loop runs
    # along one axis: put the longer of K and F there (measured in Pyodide).
    if b.shape[1] >= a.shape[1]:
        result = np.einsum("mk,kf->mf", a, b, out=o)  # out[m, :] += a[m, k] * b[k, :]
    else:
        result = np.einsum("mk,fk->mf", a, np.ascontiguousarray(b.T), out=o)  # dots along k
    return result if out is None else out


def mm_tn(a: np.ndarray, g: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a.T @ g`` for tall C-contiguous ``a`` (M, K) and ``g`` (M, F) -> (K, F).

    ``out``: a C-contiguous (K, F) array to write the result into.
    """
    if KERNELS is not None:
        return KERNELS.matmul(a.T, g, out)  # the kernel reads the transpose in place
    return _into(out, _mm_tn(a, g))


def _mm_tn(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    m, k = a.shape
    if not HAVE_BLAS:
        if g.shape[1] >= k:
            return np.einsum("mk,mf->kf", a, g)
        return np.ascontiguousarray(np.einsum("mf,mk->fk", g, a).T)
    if k >= _FEW:
        # BLAS reads both transposes in place (no copy); this operand order ran ~10%
        # faster than a.T @ g for the (K, M) @ (M, F) shapes of a conv layer.
        return np.ascontiguousarray((g.T @ a).T)
    if m < 2 * _TN_CHUNK:
        return a.T @ g
    # Few columns (a first layer: K = kh*kw*C_in + 1 is ~10): BLAS handles one
    # (K x huge) @ (huge x F) product poorly; a stack of row-chunk products summed
    # afterwards runs ~2x faster.
    nb = m // _TN_CHUNK
    head = nb * _TN_CHUNK
    out = np.matmul(
        a[:head].reshape(nb, _TN_CHUNK, k).transpose(0, 2, 1),
        g[:head].reshape(nb, _TN_CHUNK, g.shape[1]),
    ).sum(axis=0)
    if head < m:
        out += a[head:].T @ g[head:]
    return out


_FEW = 32  # "few columns": e.g. a first conv layer, K = kh*kw*C_in + 1
_TN_CHUNK = 2048


def add_product_at(
    a: np.ndarray, b: np.ndarray, dst: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> None:
    """``dst.flat[rows[i] + cols[j]] += (a @ b)[i, j]``: a product added where its rows and
    columns say, places that repeat adding up.

    A convolution's input gradient in one product (:func:`pycnn.ops._input_grad`): row
    ``i`` of ``a`` is an output pixel's gradient, ``rows[i]`` where its window starts in the
    input; column ``j`` of ``b`` is a kernel element, ``cols[j]`` its place in the window.
    The kernel adds each tile of the product into its windows while it is in registers
    (no ``(M, kh*kw*C_in)`` matrix, no strided adds). dst: C-contiguous; rows (M,), cols
    (F,): int32 offsets in elements.
    """
    if KERNELS is not None and a.dtype == b.dtype == dst.dtype == np.float32:
        KERNELS.add_product_at(a, b, dst, rows, cols)
        return
    np.add.at(dst.reshape(-1), rows[:, None] + cols, a @ b)


def dense_cross_entropy(x, kernel, bias, labels, out) -> tuple[float, int] | None:
    """A model's output Dense layer in a training step, in one kernel call, or None.

    Computes ``z = x @ kernel + bias``, the softmax cross-entropy of ``z`` and the
    gradients back through the layer: what :meth:`pycnn.layers.Dense.train_output` does
    with numpy (its products, :func:`pycnn.losses.softmax_cross_entropy`) in about twenty
    calls, each costing several times more in WebAssembly than natively. Returns
    ``(loss summed over the rows, rows whose largest score is the label)``, or None when no
    kernel takes it (then the caller runs numpy's chain).

    x: (N, in) float32, any strides; kernel: (in, units) and bias: (units,) float32 (the
    caller checks that before it allocates ``out``; a layer's bias has its kernel's dtype);
    labels: (N,) ``intp``; out: C-contiguous float32 ``(dL/dz (N, units), dkernel, dbias,
    dx (N, in) or None)`` to fill.
    """
    if KERNELS is None:
        return None
    return KERNELS.dense_xent(x, kernel, bias, labels, *out)


# --------------------------------------------------------------------------- im2col


def copy_windows(blocks: np.ndarray, src: np.ndarray, strides: tuple[int, ...]) -> None:
    """Copy the 8-D strided view of ``src`` (``strides`` in bytes) into ``blocks``.

    ``blocks`` is the im2col matrix seen as (pool offsets, images, window rows, window
    columns, kernel rows, kernel columns, channels) (see :func:`pycnn.ops._im2col`).
    numpy copies it one channel run at a time through its iterator; the kernel in one
    pass, which pays most for small images with few channels.
    """
    whole = all(s % 4 == 0 for s in strides)  # the kernel counts strides in floats
    if KERNELS is not None and src.dtype == blocks.dtype == np.float32 and whole:
        KERNELS.im2col(blocks, src, strides)
        return
    view = np.lib.stride_tricks.as_strided(src, blocks.shape, strides, writeable=False)
    np.copyto(blocks, view)


# --------------------------------------------------------------------------- fused max pool passes
# z: (P, N, Hp, Wp, C) -- the conv outputs of each pool window, one block per offset (P = ph*pw).


def pool_max(z: np.ndarray, relu: bool, out=None) -> tuple[np.ndarray, np.ndarray]:
    """``(z_max, out)``: each window's maximum over the ``P`` blocks, and ReLU of it if ``relu``.

    ``out``: a pair of C-contiguous arrays shaped like ``z[0]`` to write them into.
    """
    if KERNELS is not None and z.dtype == np.float32:
        return KERNELS.pool_max(z, relu, out)  # the same passes, fused into one
    if out is None:
        out = (np.empty(z.shape[1:], dtype=z.dtype), np.empty(z.shape[1:], dtype=z.dtype))
    z_max, result = out  # (N, Hp, Wp, C)
    if len(z) > 1:
        np.maximum(z[0], z[1], out=z_max)
    else:
        np.copyto(z_max, z[0])
    for offset in range(2, len(z)):
        np.maximum(z_max, z[offset], out=z_max)
    if relu:
        np.maximum(z_max, 0, out=result)
    else:
        np.copyto(result, z_max)
    return z_max, result


def pool_route(z, z_max, grad_out, relu: bool, out: np.ndarray | None = None) -> np.ndarray:
    """The gradient of :func:`pool_max`'s ``out`` routed back to ``z``: (P, N, Hp, Wp, C).

    The ReLU mask is applied to the pooled gradient (where the window's
    maximum was positive), then each window's gradient goes to the first
    offset holding the maximum (ties like ``argmax``). ``out``: a C-contiguous
    array shaped like ``z`` to write it into.
    """
    if KERNELS is not None and z.dtype == grad_out.dtype == np.float32:
        return KERNELS.pool_route(z, z_max, grad_out, relu, out)  # the passes fused into one
    offsets = len(z)
    dz = np.empty(z.shape, dtype=grad_out.dtype) if out is None else out
    # ``rest`` is the gradient not yet routed; it lives in the last block, which takes
    # whatever is left once the earlier offsets took theirs.
    rest = dz[offsets - 1]
    if relu:
        np.multiply(grad_out, z_max > 0, out=rest)
    else:
        np.copyto(rest, grad_out)
    hit = np.empty(z_max.shape, dtype=bool)
    for offset in range(offsets - 1):
        np.equal(z[offset], z_max, out=hit)
        np.multiply(rest, hit, out=dz[offset])
        np.subtract(rest, dz[offset], out=rest)
    return dz
