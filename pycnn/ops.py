"""Array kernels for convolution and pooling (NHWC, float32).

The convolution and pooling layers do their heavy work here (a Dense layer
needs only a product, :func:`pycnn.products.matmul`). These functions run
unchanged on desktop CPython (numpy with a BLAS) and in the browser
(Pyodide: numpy 2.0.2 built *without* BLAS). :mod:`pycnn.reference` holds
the loop-based versions that say what is computed; this module says how to
compute it fast. ``docs/PERFORMANCE.md`` has the measurements behind each
choice.

Shapes
------
x        : (N, H, W, C_in)
kernel   : (kh, kw, C_in, C_out)
bias     : (C_out,)
out      : (N, H_out, W_out, C_out)

Output size follows Keras: ``valid`` -> floor((n - k) / s) + 1,
``same`` -> ceil(n / s), with the odd extra padding row/column at the
bottom/right (see :func:`same_padding`).

How the convolution is computed ("im2col")
------------------------------------------
Every output pixel's receptive field is copied into one row of a contiguous
matrix ``cols`` of shape ``(N*H_out*W_out, kh*kw*C_in + 1)``; the extra last
column is all ones, so the bias is simply the last row of the weight matrix.
Then:

* forward           ``out = cols @ [kernel; bias]``            (one GEMM)
* weight gradient   ``[dkernel; dbias] = cols.T @ grad``       (one GEMM, bias for free)
* input gradient    ``grad @ kernel[i, j].T`` for each kernel offset, added back
  into the window that offset read (*col2im*: ``kh*kw`` slice-adds, no
  scatter). The first layer of a model skips this entirely.

The products themselves -- numpy's ``@`` with a BLAS, a compiled kernel in
the browser, ``einsum`` otherwise -- are :mod:`pycnn.products`.

Conv + ReLU + max pool, fused
-----------------------------
When a max pool's windows tile the conv output (the usual 2x2 pool after a
ReLU conv), :func:`conv2d_maxpool_forward` computes the three together:
the im2col rows are grouped by offset inside the pool window, so the pool
is a maximum over contiguous blocks of the product; conv outputs no window
covers are never computed; and ReLU runs on the pooled map (max and ReLU
commute). The model uses it for training and prediction
(:class:`pycnn.layers.fused.ConvMaxPool`).

The cache returned by the forward functions is opaque to the layers.
"""

from __future__ import annotations

import numpy as np

from . import products

__all__ = [
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "conv2d_backward",
    "conv2d_forward",
    "conv2d_maxpool_backward",
    "conv2d_maxpool_forward",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "max_pool_tiles",
    "same_padding",
]


def same_padding(n: int, k: int, s: int) -> tuple[int, int]:
    """Padding ``(before, after)`` that TF/Keras use for ``padding="same"``.

    The output size is ``ceil(n / s)``; the total padding needed to reach it
    is split with the extra element (if odd) placed after (bottom/right).
    """
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    before = total // 2
    return before, total - before


def _pads(h: int, w: int, kh: int, kw: int, strides: tuple[int, int], padding: str):
    if padding == "same":
        return same_padding(h, kh, strides[0]), same_padding(w, kw, strides[1])
    if padding == "valid":
        return (0, 0), (0, 0)
    raise ValueError(f"padding must be 'valid' or 'same'. Received: padding={padding!r}")


def _out_size(n_padded: int, k: int, s: int) -> int:
    return (n_padded - k) // s + 1


def _pad(x: np.ndarray, pad_h, pad_w, value: float = 0.0) -> np.ndarray:
    """Copy ``x`` into the middle of a ``value``-filled array (no copy if no padding)."""
    if pad_h == (0, 0) and pad_w == (0, 0):
        return x
    n, h, w, c = x.shape
    xp = np.full((n, h + pad_h[0] + pad_h[1], w + pad_w[0] + pad_w[1], c), value, dtype=x.dtype)
    xp[:, pad_h[0] : pad_h[0] + h, pad_w[0] : pad_w[0] + w, :] = x
    return xp


def _window(xp: np.ndarray, i: int, j: int, h_out: int, w_out: int, sh: int, sw: int):
    """The (N, h_out, w_out, C) view of ``xp`` seen by kernel offset (i, j)."""
    return xp[:, i : i + sh * (h_out - 1) + 1 : sh, j : j + sw * (w_out - 1) + 1 : sw, :]


class Scratch:
    """Arrays a layer reuses from one batch to the next while their shapes stay the same.

    A training step of a small model is mostly fixed costs per numpy call and per
    allocation (3-5x more in WebAssembly than natively): a step that keeps its buffers
    skips the allocations, the im2col matrix's column of ones and, with the browser's
    kernel, looking up each buffer's address again. Only work inside one step may live
    here: the next call overwrites it.
    """

    def __init__(self) -> None:
        self._arrays: dict = {}

    def array(self, name: str, shape: tuple[int, ...], dtype) -> tuple[np.ndarray, bool]:
        """``(array, new)``: the buffer called ``name``, made anew if its shape changed."""
        key = (name, shape, dtype)
        a = self._arrays.get(key)
        if a is not None:
            return a, False
        if len(self._arrays) > 32:  # shapes keep changing: keep only the latest
            self._arrays.clear()
        a = self._arrays[key] = np.empty(shape, dtype=dtype)
        return a, True


# --------------------------------------------------------------------------- conv


def _im2col(
    xp: np.ndarray,
    kh: int,
    kw: int,
    sh: int,
    sw: int,
    h_out: int,
    w_out: int,
    pool: tuple[int, int] = (1, 1),
    scratch: Scratch | None = None,
) -> np.ndarray:
    """Patches of ``xp`` as rows, plus a trailing ones column for the bias.

    Returns a C-contiguous ``(ph*pw*N*h_out*w_out, kh*kw*C + 1)`` array;
    column ``(i*kw + j)*C + c`` holds input channel ``c`` at kernel offset
    ``(i, j)``, the order of ``kernel.reshape(kh*kw*C, F)``.

    Row order. With ``pool=(1, 1)`` (a plain convolution) row ``(n, r, q)``
    is output pixel ``(r, q)`` of image ``n``. With ``pool=(ph, pw)`` (the
    fused conv + max pool, see :func:`conv2d_maxpool_forward`) the rows come
    in ``ph*pw`` blocks, one per offset ``(a, b)`` inside a pool window:
    row ``(a, b, n, r, q)`` is output pixel ``(r*ph + a, q*pw + b)``, and
    ``h_out, w_out`` count pool windows.

    With ``scratch`` the matrix is its ``"cols"`` buffer, overwritten by the next call.
    """
    n, _, _, c = xp.shape
    ph, pw = pool
    k = kh * kw * c
    rows = ph * pw * n * h_out * w_out
    if scratch is None:
        cols, new = np.empty((rows, k + 1), dtype=xp.dtype), True
    else:
        cols, new = scratch.array("cols", (rows, k + 1), xp.dtype)
    if new:
        cols[:, k] = 1.0
    blocks = cols[:, :k].reshape(ph, pw, n, h_out, w_out, kh, kw, c)  # a view into cols
    # output pixel (r*ph + a, q*pw + b) reads xp row (r*ph + a)*sh + i = a*sh + r*(ph*sh) + i
    s0, s1, s2, s3 = xp.strides
    if c >= 4 or rows * k <= _SMALL_IM2COL or products.KERNELS is not None:
        # One copy from an 8-D strided view of xp: fastest with many channels, with few
        # for small inputs, where the number of numpy calls counts, and always with the
        # kernel (docs/PERFORMANCE.md).
        strides = (s1 * sh, s2 * sw, s0, s1 * sh * ph, s2 * sw * pw, s1, s2, s3)
        products.copy_windows(blocks, xp, strides)
        return cols
    # Few channels, many pixels, numpy: slice copies with a long inner run (w_out), not C.
    for a in range(ph):
        for b in range(pw):
            shifted = xp[:, a * sh :, b * sw :, :]
            for i in range(kh):
                for j in range(kw):
                    window = _window(shifted, i, j, h_out, w_out, sh * ph, sw * pw)
                    blocks[a, b, :, :, :, i, j, :] = window
    return cols


_SMALL_IM2COL = 1 << 15  # elements of an im2col matrix below which one copy is used


def _weight_matrix(kernel: np.ndarray, bias: np.ndarray, dtype, scratch=None) -> np.ndarray:
    """``[kernel; bias]``: the (kh*kw*C_in + 1, C_out) matrix the im2col rows multiply."""
    kh, kw, c_in, c_out = kernel.shape
    k = kh * kw * c_in
    if scratch is None:
        weights = np.empty((k + 1, c_out), dtype=dtype)
    else:
        weights = scratch.array("weights", (k + 1, c_out), dtype)[0]
    weights[:k] = kernel.reshape(k, c_out)
    weights[k] = bias
    return weights


def conv2d_forward(x, kernel, bias, strides: tuple[int, int], padding: str):
    """2-D cross-correlation plus bias. Returns ``(out, cache)``.

    x: (N, H, W, C_in); kernel: (kh, kw, C_in, C_out); bias: (C_out,)
    out: (N, H_out, W_out, C_out), C-contiguous, dtype of ``x``.
    """
    n, h, w, _ = x.shape
    kh, kw, _, c_out = kernel.shape
    sh, sw = strides
    pad_h, pad_w = _pads(h, w, kh, kw, strides, padding)
    xp = _pad(x, pad_h, pad_w)
    h_out = _out_size(xp.shape[1], kh, sh)
    w_out = _out_size(xp.shape[2], kw, sw)

    cols = _im2col(xp, kh, kw, sh, sw, h_out, w_out)  # (N*Ho*Wo, k + 1)
    weights = _weight_matrix(kernel, bias, x.dtype)  # (k + 1, C_out)
    out = products.mm(cols, weights).reshape(n, h_out, w_out, c_out)
    cache = (cols, weights, x.shape, xp.shape, pad_h, pad_w, (sh, sw), (kh, kw))
    return out, cache


def conv2d_backward(grad_out, cache, need_input_grad: bool = True):
    """Gradients of :func:`conv2d_forward`. Returns ``(dx or None, dkernel, dbias)``.

    grad_out: (N, H_out, W_out, C_out). The first layer of a model passes
    ``need_input_grad=False`` and skips the dx product and col2im entirely.
    """
    cols, weights, x_shape, xp_shape, pad_h, pad_w, strides, kernel_size = cache
    g = np.ascontiguousarray(grad_out)  # (N, H_out, W_out, C_out)
    dkernel, dbias = _param_grads(cols, g.reshape(-1, g.shape[3]), kernel_size)
    if not need_input_grad:
        return None, dkernel, dbias
    dx = _input_grad(g, weights, x_shape, xp_shape, pad_h, pad_w, strides, kernel_size)
    return dx, dkernel, dbias


def _param_grads(cols: np.ndarray, g: np.ndarray, kernel_size: tuple[int, int], scratch=None):
    """``(dkernel, dbias)`` from the im2col rows ``cols`` (M, k + 1) and their gradients ``g`` (M, C_out).

    With ``scratch`` both are views of its ``"dweights"`` buffer.
    """
    kh, kw = kernel_size
    k = cols.shape[1] - 1
    # (k + 1, C_out): kernel rows, then the bias row
    if scratch is None:
        dweights = products.mm_tn(cols, g)
        return dweights[:k].reshape(kh, kw, k // (kh * kw), g.shape[1]), dweights[k].copy()
    dweights = scratch.array("dweights", (k + 1, g.shape[1]), g.dtype)[0]
    products.mm_tn(cols, g, out=dweights)
    return dweights[:k].reshape(kh, kw, k // (kh * kw), g.shape[1]), dweights[k]


def _input_grad(
    g, weights, x_shape, xp_shape, pad_h, pad_w, strides, kernel_size, pool=(1, 1), scratch=None
):
    """dL/dx from the gradient ``g`` of the conv output (col2im).

    ``g``: (N, H_out, W_out, C_out); with ``pool=(ph, pw)`` (the fused conv + max pool) the
    blocks (ph*pw, N, Hp, Wp, C_out) of :func:`conv2d_maxpool_forward`'s rows, block
    ``a*pw + b`` holding output pixel ``(r*ph + a, q*pw + b)``. There may be fewer rows and
    columns than the convolution has (the fused conv + max pool never computes the ones
    no pool window covers): those had no effect on the loss, so they add nothing here.
    With ``scratch``, the kernel's offsets are kept there.
    """
    c_in, c_out = x_shape[3], g.shape[-1]
    k = kernel_size[0] * kernel_size[1] * c_in
    h, w = x_shape[1], x_shape[2]
    if products.KERNELS is not None:
        # one product whose tiles the kernel adds straight into their windows
        rows, cols = _col2im_offsets(g.shape[-4:-1], xp_shape, strides, kernel_size, pool, scratch)
        dxp = np.zeros(xp_shape, dtype=g.dtype)
        products.add_product_at(g.reshape(-1, c_out), weights[:k].T, dxp, rows, cols)
    else:
        dxp = _input_grad_numpy(g, weights[:k], xp_shape, strides, kernel_size, pool)
    if xp_shape[1] == h and xp_shape[2] == w:
        return dxp
    return np.ascontiguousarray(dxp[:, pad_h[0] : pad_h[0] + h, pad_w[0] : pad_w[0] + w, :])


def _input_grad_numpy(g, kernel_rows, xp_shape, strides, kernel_size, pool):
    """dL/d(padded x) with numpy: :func:`_input_grad` without the kernel."""
    ph, pw = pool
    if ph * pw > 1:  # the blocks back in image order, (N, Hp*ph, Wp*pw, C_out)
        _, n, h_pool, w_pool, c_out = g.shape
        image = np.empty((n, h_pool, ph, w_pool, pw, c_out), dtype=g.dtype)
        for a in range(ph):
            for b in range(pw):
                image[:, :, a, :, b, :] = g[a * pw + b]
        g = image.reshape(n, h_pool * ph, w_pool * pw, c_out)
    g = g.reshape(g.shape[-4:])
    n, h_out, w_out, c_out = g.shape
    sh, sw = strides
    kh, kw = kernel_size
    c_in = xp_shape[3]
    g = g.reshape(n * h_out * w_out, c_out)  # (M, C_out)
    if kh == kw == 1 and sh == sw == 1 and (h_out, w_out) == xp_shape[1:3]:
        return products.mm(g, kernel_rows.T).reshape(xp_shape)  # 1x1 conv: no overlap, no padding
    # col2im: each kernel offset (i, j) sends g @ kernel[i, j].T back to the window it
    # read. With BLAS, one product per offset gives a contiguous slab added while in
    # cache (~30% faster than adding the strided columns of one wide product). With
    # numpy's own loops the wide product is cheaper.
    dxp = np.zeros(xp_shape, dtype=g.dtype)
    w_blocks = kernel_rows.reshape(kh, kw, c_in, c_out)
    if not products.HAVE_BLAS:
        dcols = products.mm(g, np.ascontiguousarray(kernel_rows.T))  # (M, kh*kw*C_in)
        dcols = dcols.reshape(n, h_out, w_out, kh, kw, c_in)
    for i in range(kh):
        for j in range(kw):
            if products.HAVE_BLAS:
                slab = products.mm(g, w_blocks[i, j].T).reshape(n, h_out, w_out, c_in)
            else:
                slab = dcols[:, :, :, i, j, :]
            _window(dxp, i, j, h_out, w_out, sh, sw)[...] += slab
    return dxp


def _col2im_offsets(grid, xp_shape, strides, kernel_size, pool, scratch=None):
    """``(rows, cols)``: int32 offsets into the padded input for :func:`products.add_product_at`.

    ``rows``: where each output pixel's window starts, in the order of the gradient's rows
    (blocks by pool offset, then image, row, column of ``grid`` = (N, Hp, Wp)); ``cols``:
    where each kernel element ``(i, j, c)`` sits inside a window.
    """
    key = f"col2im {grid} {xp_shape} {strides} {kernel_size} {pool}"
    ph, pw = pool
    n, h, w = grid
    if scratch is not None:
        (rows, new), (cols, _) = (
            scratch.array(key, (ph * pw * n * h * w,), np.int32),
            scratch.array(
                key + " cols", (kernel_size[0] * kernel_size[1] * xp_shape[3],), np.int32
            ),
        )
        if not new:
            return rows, cols
    _, height, width, c_in = xp_shape
    step_h, step_w = strides[0] * width * c_in, strides[1] * c_in  # one output row / column
    kh, kw = kernel_size
    pixels = (
        (np.arange(ph) * step_h)[:, None, None, None, None]
        + (np.arange(pw) * step_w)[:, None, None, None]
        + (np.arange(n) * height * width * c_in)[:, None, None]
        + (np.arange(h) * ph * step_h)[:, None]
        + np.arange(w) * pw * step_w
    )
    window = (
        (np.arange(kh) * width * c_in)[:, None, None]
        + (np.arange(kw) * c_in)[:, None]
        + np.arange(c_in)
    )
    if scratch is None:
        return pixels.reshape(-1).astype(np.int32), window.reshape(-1).astype(np.int32)
    rows[:] = pixels.reshape(-1)
    cols[:] = window.reshape(-1)
    return rows, cols


# --------------------------------------------------------------------------- conv + max pool


def max_pool_tiles(conv_hw: tuple[int, int], pool_size, strides, padding: str) -> bool:
    """True when a max pool's windows tile its ``(H, W)`` input without padding.

    That is ``strides == pool_size`` and no padding is added (``valid``, or
    ``same`` where the size is already a multiple); the last rows/columns
    may be left out (``valid`` with an odd size). Then
    :func:`conv2d_maxpool_forward` can compute a convolution and the pool together.
    """
    if tuple(pool_size) != tuple(strides):
        return False
    pad_h, pad_w = _pads(conv_hw[0], conv_hw[1], pool_size[0], pool_size[1], strides, padding)
    return pad_h == (0, 0) and pad_w == (0, 0)


def conv2d_maxpool_forward(
    x, kernel, bias, strides, padding, pool_size, relu: bool, scratch: Scratch | None = None
):
    """Conv2D, then ReLU if ``relu``, then a tiling max pool, computed together.

    The result equals ``conv2d_forward`` -> ``max(z, 0)`` -> ``max_pool2d_forward``
    with ``strides=pool_size`` and no pool padding (:func:`max_pool_tiles`),
    with less work:

    * The im2col rows come in ``ph*pw`` blocks, one per offset inside a
      pool window (see :func:`_im2col`), so the product ``z`` holds the
      window's candidates as ``ph*pw`` contiguous blocks: the max is a few
      ``np.maximum`` calls on contiguous arrays, with no gather copy.
    * Conv output pixels that no pool window covers (the last row/column of
      an odd-sized output with ``valid`` pooling) are never computed. In the
      Keras convnet that is 21 of the second conv layer's 121 pixels.
    * ReLU runs on the pooled map, ``ph*pw`` times smaller: max and ReLU
      commute because ReLU never decreases, ``max(relu(z)) = relu(max(z))``.

    x: (N, H, W, C_in); kernel: (kh, kw, C_in, C_out); bias: (C_out,)
    out: (N, Hp, Wp, C_out) with ``Hp = H_conv // ph``, ``Wp = W_conv // pw``.
    With ``scratch`` (:class:`Scratch`) every array, ``out`` and the cache included,
    is one of its buffers: valid until the next call (a training step's forward and
    backward).
    """
    n, h, w, _ = x.shape
    kh, kw, _, c_out = kernel.shape
    sh, sw = strides
    ph, pw = pool_size
    pad_h, pad_w = _pads(h, w, kh, kw, strides, padding)
    xp = _pad(x, pad_h, pad_w)
    h_pool = _out_size(xp.shape[1], kh, sh) // ph  # pool windows per column
    w_pool = _out_size(xp.shape[2], kw, sw) // pw

    cols = _im2col(xp, kh, kw, sh, sw, h_pool, w_pool, (ph, pw), scratch)  # (P*N*Hp*Wp, k + 1)
    weights = _weight_matrix(kernel, bias, x.dtype, scratch)
    if scratch is None:
        z = products.mm(cols, weights).reshape(ph * pw, n, h_pool, w_pool, c_out)
        z_max, out = products.pool_max(z, relu)  # (N, Hp, Wp, C_out) each
    else:
        dtype = cols.dtype
        z = scratch.array("z", (ph * pw, n, h_pool, w_pool, c_out), dtype)[0]  # a block per offset
        products.mm(cols, weights, out=z)
        z_max = scratch.array("z_max", z.shape[1:], dtype)[0]
        out = scratch.array("out", z.shape[1:], dtype)[0]
        products.pool_max(z, relu, out=(z_max, out))
    cache = (
        cols,
        weights,
        z,
        z_max,
        relu,
        x.shape,
        xp.shape,
        pad_h,
        pad_w,
        (sh, sw),
        (kh, kw),
        (ph, pw),
        scratch,
    )
    return out, cache


def conv2d_maxpool_backward(grad_out, cache, need_input_grad: bool = True):
    """Gradients of :func:`conv2d_maxpool_forward`: ``(dx or None, dkernel, dbias)``.

    grad_out: (N, Hp, Wp, C_out). The ReLU mask is applied to the pooled
    gradient (where the window's maximum was positive), then each window's
    gradient goes to the first offset holding the maximum, like
    :func:`max_pool2d_backward`, into the block layout of the im2col rows:
    the weight gradient is one product over contiguous arrays.
    """
    (cols, weights, z, z_max, relu, x_shape, xp_shape, pad_h, pad_w, strides, kernel_size, pool,
     scratch) = cache  # fmt: skip
    c_out = z.shape[-1]
    dz = None if scratch is None else scratch.array("dz", z.shape, z.dtype)[0]
    dz = products.pool_route(z, z_max, grad_out, relu, out=dz)  # (P, N, Hp, Wp, C_out), like z

    dkernel, dbias = _param_grads(cols, dz.reshape(-1, c_out), kernel_size, scratch)
    if not need_input_grad:
        return None, dkernel, dbias
    dx = _input_grad(
        dz, weights, x_shape, xp_shape, pad_h, pad_w, strides, kernel_size, pool, scratch
    )
    return dx, dkernel, dbias


# --------------------------------------------------------------------------- max pool


def _tiles(pool_size, strides, pad_h, pad_w) -> bool:
    """Windows tile the input exactly (no overlap, no padding): the fast path."""
    return tuple(pool_size) == tuple(strides) and pad_h == (0, 0) and pad_w == (0, 0)


def max_pool2d_forward(x, pool_size: tuple[int, int], strides: tuple[int, int], padding: str):
    """Max pooling; ``same`` pads with -inf so padding never wins.

    A running ``np.maximum`` over the ``ph*pw`` window offsets. When the windows
    tile the input (``pool_size == strides``, no padding: the usual 2x2 pool)
    each offset's strided view is first copied into one contiguous stack, so
    the maximum here and the routing in the backward run on contiguous arrays
    (several times faster than on views with a C-long inner run).
    """
    n, h, w, c = x.shape
    ph, pw = pool_size
    sh, sw = strides
    pad_h, pad_w = _pads(h, w, ph, pw, strides, padding)
    xp = _pad(x, pad_h, pad_w, value=-np.inf)
    h_out = _out_size(xp.shape[1], ph, sh)
    w_out = _out_size(xp.shape[2], pw, sw)
    offsets = [(i, j) for i in range(ph) for j in range(pw)]

    if _tiles(pool_size, strides, pad_h, pad_w):
        source = np.empty((len(offsets), n, h_out, w_out, c), dtype=x.dtype)
        for k, (i, j) in enumerate(offsets):
            source[k] = _window(xp, i, j, h_out, w_out, sh, sw)
    else:
        source = [_window(xp, i, j, h_out, w_out, sh, sw) for i, j in offsets]
    if len(offsets) == 1:
        out = np.array(source[0], dtype=x.dtype)  # (N, Ho, Wo, C)
    else:
        out = np.maximum(source[0], source[1])
    for k in range(2, len(offsets)):
        np.maximum(out, source[k], out=out)
    cache = (source, out, xp.shape, x.shape, pad_h, pad_w, (ph, pw), (sh, sw))
    return out, cache


def max_pool2d_backward(grad_out, cache):
    """Route each output gradient to the input element that was the maximum.

    Ties go to the first maximum in window order (row by row), like
    ``argmax``. ``rest`` holds the gradient not yet routed: offset by offset,
    the elements equal to the maximum take it and it drops to zero, so the
    last offset simply takes whatever is left.
    """
    source, out, xp_shape, x_shape, pad_h, pad_w, (ph, pw), (sh, sw) = cache
    h_out, w_out = out.shape[1], out.shape[2]
    tiles = _tiles((ph, pw), (sh, sw), pad_h, pad_w)
    covers_all = tiles and xp_shape[1] == h_out * ph and xp_shape[2] == w_out * pw
    dxp = (np.empty if covers_all else np.zeros)(xp_shape, dtype=grad_out.dtype)

    rest = np.array(grad_out, dtype=grad_out.dtype)  # a private copy we may overwrite
    hit = np.empty(out.shape, dtype=bool)
    taken = np.empty(out.shape, dtype=grad_out.dtype)
    offsets = [(i, j) for i in range(ph) for j in range(pw)]
    last = len(offsets) - 1
    for k, (i, j) in enumerate(offsets):
        dst = _window(dxp, i, j, h_out, w_out, sh, sw)
        if k == last:
            taken = rest
        else:
            np.equal(source[k], out, out=hit)
            np.multiply(rest, hit, out=taken)
            np.subtract(rest, taken, out=rest)
        if tiles:  # disjoint windows: each input element is written once
            dst[...] = taken
        else:  # overlapping windows: accumulate
            dst += taken
    h, w = x_shape[1], x_shape[2]
    if xp_shape[1] == h and xp_shape[2] == w:
        return dxp
    return np.ascontiguousarray(dxp[:, pad_h[0] : pad_h[0] + h, pad_w[0] : pad_w[0] + w, :])


# --------------------------------------------------------------------------- average pool


def avg_pool2d_forward(x, pool_size, strides, padding):
    """Average pooling; with ``same`` only real (unpadded) elements are averaged."""
    _, h, w, _ = x.shape
    ph, pw = pool_size
    sh, sw = strides
    pad_h, pad_w = _pads(h, w, ph, pw, strides, padding)
    xp = _pad(x, pad_h, pad_w)
    h_out = _out_size(xp.shape[1], ph, sh)
    w_out = _out_size(xp.shape[2], pw, sw)

    total = np.array(_window(xp, 0, 0, h_out, w_out, sh, sw), dtype=x.dtype)
    for i in range(ph):
        for j in range(pw):
            if i or j:
                total += _window(xp, i, j, h_out, w_out, sh, sw)
    if pad_h == (0, 0) and pad_w == (0, 0):
        count = np.full((1, 1, 1, 1), ph * pw, dtype=x.dtype)
    else:  # how many real (unpadded) elements each window holds
        ones = _pad(np.ones((1, h, w, 1), dtype=x.dtype), pad_h, pad_w)
        count = np.zeros((1, h_out, w_out, 1), dtype=x.dtype)
        for i in range(ph):
            for j in range(pw):
                count += _window(ones, i, j, h_out, w_out, sh, sw)
    total /= count
    cache = (count, x.shape, xp.shape, pad_h, pad_w, (ph, pw), (sh, sw))
    return total, cache


def avg_pool2d_backward(grad_out, cache):
    """Spread each output gradient evenly over the real elements of its window."""
    count, x_shape, xp_shape, pad_h, pad_w, (ph, pw), (sh, sw) = cache
    h_out, w_out = grad_out.shape[1], grad_out.shape[2]
    share = grad_out / count
    tiles = _tiles((ph, pw), (sh, sw), pad_h, pad_w)
    covers_all = tiles and xp_shape[1] == h_out * ph and xp_shape[2] == w_out * pw
    dxp = (np.empty if covers_all else np.zeros)(xp_shape, dtype=share.dtype)
    for i in range(ph):
        for j in range(pw):
            dst = _window(dxp, i, j, h_out, w_out, sh, sw)
            if tiles:
                dst[...] = share
            else:
                dst += share
    h, w = x_shape[1], x_shape[2]
    if xp_shape[1] == h and xp_shape[2] == w:
        return dxp
    return np.ascontiguousarray(dxp[:, pad_h[0] : pad_h[0] + h, pad_w[0] : pad_w[0] + w, :])
