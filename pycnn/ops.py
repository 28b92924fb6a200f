"""Array kernels for convolution and pooling (NHWC, float32).

These are the only functions the layers call for the heavy work. This first
version favours clarity over speed: patches are gathered with one strided
slice per kernel offset (``kh * kw`` slices), then a single matrix product
does the convolution ("im2col"). The signatures are a contract with the
layers; faster versions must keep them (and the opaque ``cache`` idea).

Shapes
------
x        : (N, H, W, C_in)
kernel   : (kh, kw, C_in, C_out)
bias     : (C_out,)
out      : (N, H_out, W_out, C_out)

Output size follows Keras: ``valid`` -> floor((n - k) / s) + 1,
``same`` -> ceil(n / s), with the odd extra padding row/column at the
bottom/right (see :func:`same_padding`).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "same_padding",
    "conv2d_forward",
    "conv2d_backward",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
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
    if pad_h == (0, 0) and pad_w == (0, 0):
        return x
    return np.pad(x, ((0, 0), pad_h, pad_w, (0, 0)), mode="constant", constant_values=value)


def _window(xp: np.ndarray, i: int, j: int, h_out: int, w_out: int, sh: int, sw: int):
    """The (N, h_out, w_out, C) view of ``xp`` seen by kernel offset (i, j)."""
    return xp[:, i : i + sh * (h_out - 1) + 1 : sh, j : j + sw * (w_out - 1) + 1 : sw, :]


# --------------------------------------------------------------------------- conv


def conv2d_forward(x, kernel, bias, strides: tuple[int, int], padding: str):
    """2-D cross-correlation plus bias. Returns ``(out, cache)``."""
    n, h, w, c_in = x.shape
    kh, kw, _, c_out = kernel.shape
    sh, sw = strides
    pad_h, pad_w = _pads(h, w, kh, kw, strides, padding)
    xp = _pad(x, pad_h, pad_w)
    h_out = _out_size(xp.shape[1], kh, sh)
    w_out = _out_size(xp.shape[2], kw, sw)

    cols = np.empty((n, h_out, w_out, kh, kw, c_in), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = _window(xp, i, j, h_out, w_out, sh, sw)
    cols = cols.reshape(n * h_out * w_out, kh * kw * c_in)  # (N*Ho*Wo, kh*kw*C_in)
    out = cols @ kernel.reshape(kh * kw * c_in, c_out)  # (N*Ho*Wo, C_out)
    out += bias
    out = out.reshape(n, h_out, w_out, c_out)
    cache = (cols, kernel, x.shape, xp.shape, pad_h, pad_w, (sh, sw))
    return out, cache


def conv2d_backward(grad_out, cache, need_input_grad: bool = True):
    """Gradients of :func:`conv2d_forward`. Returns ``(dx or None, dkernel, dbias)``."""
    cols, kernel, x_shape, xp_shape, pad_h, pad_w, (sh, sw) = cache
    kh, kw, c_in, c_out = kernel.shape
    n, h_out, w_out, _ = grad_out.shape
    g = grad_out.reshape(n * h_out * w_out, c_out)  # (N*Ho*Wo, C_out)

    dkernel = (cols.T @ g).reshape(kh, kw, c_in, c_out)
    dbias = g.sum(axis=0)
    if not need_input_grad:
        return None, dkernel, dbias

    dcols = (g @ kernel.reshape(kh * kw * c_in, c_out).T).reshape(n, h_out, w_out, kh, kw, c_in)
    dxp = np.zeros(xp_shape, dtype=grad_out.dtype)
    for i in range(kh):
        for j in range(kw):
            _window(dxp, i, j, h_out, w_out, sh, sw)[...] += dcols[:, :, :, i, j, :]
    h, w = x_shape[1], x_shape[2]
    dx = dxp[:, pad_h[0] : pad_h[0] + h, pad_w[0] : pad_w[0] + w, :]
    return np.ascontiguousarray(dx), dkernel, dbias


# --------------------------------------------------------------------------- max pool


def max_pool2d_forward(x, pool_size: tuple[int, int], strides: tuple[int, int], padding: str):
    """Max pooling; ``same`` pads with -inf so padding never wins."""
    n, h, w, c = x.shape
    ph, pw = pool_size
    sh, sw = strides
    pad_h, pad_w = _pads(h, w, ph, pw, strides, padding)
    xp = _pad(x, pad_h, pad_w, value=-np.inf)
    h_out = _out_size(xp.shape[1], ph, sh)
    w_out = _out_size(xp.shape[2], pw, sw)

    out = np.full((n, h_out, w_out, c), -np.inf, dtype=x.dtype)
    argmax = np.zeros((n, h_out, w_out, c), dtype=np.int32)  # flat offset i*pw+j
    for i in range(ph):
        for j in range(pw):
            win = _window(xp, i, j, h_out, w_out, sh, sw)
            better = win > out  # strict: the first maximum wins ties
            out = np.where(better, win, out)
            argmax[better] = i * pw + j
    cache = (argmax, x.shape, xp.shape, pad_h, pad_w, (ph, pw), (sh, sw))
    return out, cache


def max_pool2d_backward(grad_out, cache):
    """Route each output gradient to the input element that was the maximum."""
    argmax, x_shape, xp_shape, pad_h, pad_w, (ph, pw), (sh, sw) = cache
    h_out, w_out = grad_out.shape[1], grad_out.shape[2]
    dxp = np.zeros(xp_shape, dtype=grad_out.dtype)
    for i in range(ph):
        for j in range(pw):
            mask = argmax == i * pw + j
            _window(dxp, i, j, h_out, w_out, sh, sw)[...] += np.where(mask, grad_out, 0)
    h, w = x_shape[1], x_shape[2]
    return np.ascontiguousarray(dxp[:, pad_h[0] : pad_h[0] + h, pad_w[0] : pad_w[0] + w, :])


# --------------------------------------------------------------------------- average pool


def avg_pool2d_forward(x, pool_size, strides, padding):
    """Average pooling; with ``same`` only real (unpadded) elements are averaged."""
    n, h, w, c = x.shape
    ph, pw = pool_size
    sh, sw = strides
    pad_h, pad_w = _pads(h, w, ph, pw, strides, padding)
    xp = _pad(x, pad_h, pad_w)
    ones = _pad(np.ones((1, h, w, 1), dtype=x.dtype), pad_h, pad_w)
    h_out = _out_size(xp.shape[1], ph, sh)
    w_out = _out_size(xp.shape[2], pw, sw)

    total = np.zeros((n, h_out, w_out, c), dtype=x.dtype)
    count = np.zeros((1, h_out, w_out, 1), dtype=x.dtype)
    for i in range(ph):
        for j in range(pw):
            total += _window(xp, i, j, h_out, w_out, sh, sw)
            count += _window(ones, i, j, h_out, w_out, sh, sw)
    out = total / count
    cache = (count, x.shape, xp.shape, pad_h, pad_w, (ph, pw), (sh, sw))
    return out, cache


def avg_pool2d_backward(grad_out, cache):
    """Spread each output gradient evenly over the real elements of its window."""
    count, x_shape, xp_shape, pad_h, pad_w, (ph, pw), (sh, sw) = cache
    h_out, w_out = grad_out.shape[1], grad_out.shape[2]
    share = grad_out / count
    dxp = np.zeros(xp_shape, dtype=grad_out.dtype)
    for i in range(ph):
        for j in range(pw):
            _window(dxp, i, j, h_out, w_out, sh, sw)[...] += share
    h, w = x_shape[1], x_shape[2]
    return np.ascontiguousarray(dxp[:, pad_h[0] : pad_h[0] + h, pad_w[0] : pad_w[0] + w, :])
