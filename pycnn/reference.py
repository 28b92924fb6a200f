"""Loop-based reference convolution and pooling (teaching code, test oracle).

Read these first: each output value is computed by literally sliding the
window over the (padded) input. They are slow on purpose and never used
for training; the tests compare the fast kernels in :mod:`pycnn.ops`
against them.

All arrays are NHWC: ``x`` is ``(N, H, W, C)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["avg_pool2d_naive", "conv2d_naive", "max_pool2d_naive", "pad_amounts"]


def pad_amounts(n: int, k: int, s: int, padding: str) -> tuple[int, int]:
    """Rows (or columns) of padding ``(before, after)``, Keras rules.

    ``valid`` pads nothing. ``same`` makes the output ``ceil(n / s)`` long;
    if the total padding is odd the extra one goes after (bottom/right).
    """
    if padding == "valid":
        return 0, 0
    out = (n + s - 1) // s
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def conv2d_naive(x, kernel, bias, strides=(1, 1), padding="valid"):
    """Cross-correlation: ``out[n, r, c, f] = sum(window * kernel[..., f]) + bias[f]``.

    x: (N, H, W, C_in); kernel: (kh, kw, C_in, C_out); bias: (C_out,)
    returns (N, H_out, W_out, C_out)
    """
    n, h, w, c_in = x.shape
    kh, kw, _, c_out = kernel.shape
    sh, sw = strides
    top, bottom = pad_amounts(h, kh, sh, padding)
    left, right = pad_amounts(w, kw, sw, padding)
    xp = np.zeros((n, h + top + bottom, w + left + right, c_in), dtype=np.float64)
    xp[:, top : top + h, left : left + w, :] = x
    h_out = (xp.shape[1] - kh) // sh + 1
    w_out = (xp.shape[2] - kw) // sw + 1
    out = np.zeros((n, h_out, w_out, c_out), dtype=np.float64)
    for b in range(n):
        for r in range(h_out):
            for c in range(w_out):
                window = xp[b, r * sh : r * sh + kh, c * sw : c * sw + kw, :]  # (kh, kw, C_in)
                for f in range(c_out):
                    out[b, r, c, f] = np.sum(window * kernel[:, :, :, f]) + bias[f]
    return out


def _pool_naive(x, pool_size, strides, padding, reduce):
    n, h, w, ch = x.shape
    ph, pw = pool_size
    sh, sw = strides
    top, bottom = pad_amounts(h, ph, sh, padding)
    left, right = pad_amounts(w, pw, sw, padding)
    h_out = (h + top + bottom - ph) // sh + 1
    w_out = (w + left + right - pw) // sw + 1
    out = np.zeros((n, h_out, w_out, ch), dtype=np.float64)
    for r in range(h_out):
        for c in range(w_out):
            # window in unpadded coordinates, clipped to the real image:
            # padded cells never take part (max ignores -inf, mean ignores them)
            r0, c0 = r * sh - top, c * sw - left
            window = x[:, max(r0, 0) : r0 + ph, max(c0, 0) : c0 + pw, :]
            out[:, r, c, :] = reduce(window, axis=(1, 2))
    return out


def max_pool2d_naive(x, pool_size=(2, 2), strides=(2, 2), padding="valid"):
    """Maximum of each window. returns (N, H_out, W_out, C)."""
    return _pool_naive(x, pool_size, strides, padding, np.max)


def avg_pool2d_naive(x, pool_size=(2, 2), strides=(2, 2), padding="valid"):
    """Mean of each window over real (unpadded) elements, like Keras/TF."""
    return _pool_naive(x, pool_size, strides, padding, np.mean)
