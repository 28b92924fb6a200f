"""The fused Conv2D + ReLU + max pool step against a float64 loop oracle, on every path.

With few inputs per output (``kh * kw * C_in <= DIRECT_TAPS``) and whole groups of four
filters, the browser's kernel computes the step straight from the image
(``pycnn/kernels/conv.c``); other shapes go through im2col and the products
(:func:`pycnn.ops.conv2d_maxpool_forward`). On desktop CPython these tests check the
numpy path; ``tests/pyodide/test_wasm_kernel.py`` runs this file inside Pyodide with
each kernel build, where the shapes the direct kernel takes go through it (checked by
counting its calls) and the others through the products.

Edge shapes: 1x1 images, batch 1, odd sizes where the pool leaves a row or column out,
strides and ``same`` padding, pools other than 2x2, a last group of four filters, 27
taps (3x3 on colour); inputs reversed, sliced and with a channel stride.
"""

import numpy as np
import pytest

from pycnn import Conv2D, MaxPooling2D, ops, products, reference
from pycnn.layers.fused import ConvMaxPool


def _oracle(x, kernel, bias, strides, padding, pool, relu, g):
    """Forward and ``(dx, dkernel, dbias)`` in float64, one conv output at a time.

    The pool's gradient goes to the first maximum of each window (row by row), like
    :func:`pycnn.ops.max_pool2d_backward`; ReLU passes it where the maximum is > 0.
    """
    x64, k64 = x.astype(np.float64), kernel.astype(np.float64)
    z = reference.conv2d_naive(x64, k64, bias.astype(np.float64), strides, padding)
    n, _, _, c_out = z.shape
    ph, pw = pool
    hp, wp = z.shape[1] // ph, z.shape[2] // pw
    windows = z[:, : hp * ph, : wp * pw].reshape(n, hp, ph, wp, pw, c_out)
    windows = windows.transpose(0, 1, 3, 5, 2, 4).reshape(n, hp, wp, c_out, ph * pw)
    best = windows.max(axis=-1)
    out = np.maximum(best, 0) if relu else best
    first = windows.argmax(axis=-1)  # the first maximum, row by row
    passed = g.astype(np.float64) * (best > 0 if relu else 1)
    dz = np.zeros_like(z)
    for offset in range(ph * pw):
        a, b = divmod(offset, pw)
        dz[:, a : hp * ph : ph, b : wp * pw : pw] = np.where(first == offset, passed, 0)
    kh, kw = kernel.shape[:2]
    pad_h = reference.pad_amounts(x.shape[1], kh, strides[0], padding)
    pad_w = reference.pad_amounts(x.shape[2], kw, strides[1], padding)
    xp = np.pad(x64, ((0, 0), pad_h, pad_w, (0, 0)))
    dxp, dkernel = np.zeros_like(xp), np.zeros_like(k64)
    for r in range(z.shape[1]):
        for c in range(z.shape[2]):
            rows = slice(r * strides[0], r * strides[0] + kh)
            cols = slice(c * strides[1], c * strides[1] + kw)
            dxp[:, rows, cols] += np.einsum("nf,ijcf->nijc", dz[:, r, c], k64)
            dkernel += np.einsum("nijc,nf->ijcf", xp[:, rows, cols], dz[:, r, c])
    (top, _), (left, _) = pad_h, pad_w
    dx = dxp[:, top : top + x.shape[1], left : left + x.shape[2]]
    return out, (dx, dkernel, dz.sum(axis=(0, 1, 2)))


# (input shape, filters, kernel, strides, padding, pool)
CASES = [
    ((4, 28, 28, 1), 8, (3, 3), (1, 1), "valid", (2, 2)),  # the app's default layers on MNIST
    ((5, 8, 8, 1), 8, (3, 3), (1, 1), "valid", (2, 2)),  # the starter on digits
    ((2, 28, 28, 1), 32, (3, 3), (1, 1), "valid", (2, 2)),  # the Keras convnet's first pair
    ((1, 1, 1, 1), 4, (1, 1), (1, 1), "valid", (1, 1)),  # a 1x1 image
    ((1, 9, 7, 1), 12, (2, 2), (1, 1), "valid", (3, 3)),  # pool leaves a row out; 8 + 4 filters
    ((3, 11, 11, 3), 8, (3, 3), (1, 1), "valid", (2, 2)),  # colour: 27 taps; odd conv output
    ((2, 10, 9, 2), 4, (3, 2), (2, 1), "same", (2, 2)),  # strides, same padding
    ((2, 7, 12, 1), 16, (2, 3), (1, 2), "same", (1, 2)),  # a 1x2 pool
    ((2, 12, 12, 4), 8, (2, 2), (2, 2), "valid", (2, 1)),  # a 2x1 pool, four channels
    ((2, 6, 6, 1), 6, (3, 3), (1, 1), "valid", (2, 2)),  # 6 filters: not whole groups of 4
    ((2, 9, 9, 4), 8, (3, 3), (1, 1), "valid", (2, 2)),  # 36 taps: im2col and products
]
LAYOUTS = ["contiguous", "reversed", "sliced", "channel-strided"]


def _case_id(case):
    shape, filters, k, s, padding, pool = case
    return (
        "x".join(map(str, shape))
        + f"-f{filters}-k{k[0]}{k[1]}-s{s[0]}{s[1]}-{padding}-p{pool[0]}{pool[1]}"
    )


def _draw(r, shape, ties: bool, scale: int = 1) -> np.ndarray:
    """float32 values whose products and sums are exact in float32, so the pool's choice
    of maximum is the oracle's: small integers (``ties``: equal sums and ReLU zeros
    everywhere) or sixteenths (few ties)."""
    if ties:
        return r.integers(-1, 2, size=shape).astype(np.float32)
    return (r.integers(-32, 33, size=shape) / (16 * scale)).astype(np.float32)


def _input(r, shape, layout, ties):
    if layout == "contiguous":
        return _draw(r, shape, ties)
    if layout == "reversed":  # a negative row stride
        return _draw(r, shape, ties)[:, ::-1]
    n, h, w, c = shape
    if layout == "sliced":  # every other image and column of a bigger array
        return _draw(r, (2 * n, h, 2 * w, c), ties)[::2, :, ::2]
    return _draw(r, (n, h, w, 2 * c), ties)[..., ::2]


def _step(r, case, relu, ties):
    shape, filters, kernel_size, strides, padding, pool = case
    conv = Conv2D(filters, kernel_size, strides, padding, "relu" if relu else None)
    conv.build(shape[1:], r)
    conv.params["kernel"][...] = _draw(r, conv.params["kernel"].shape, ties, scale=4)
    conv.params["bias"][...] = _draw(r, filters, ties)
    return ConvMaxPool(conv, MaxPooling2D(pool))


def _direct(step, x) -> bool:
    """Whether the installed kernel computes this step directly (no kernel: never)."""
    kernels = products.KERNELS
    params = step.conv.params
    return kernels is not None and kernels.takes_conv_pool(x, params["kernel"], params["bias"])


@pytest.mark.parametrize("ties", [False, True], ids=["exact", "ties"])
@pytest.mark.parametrize("relu", [True, False], ids=["relu", "linear"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_fused_step_matches_the_loop_oracle(case, layout, relu, ties):
    r = np.random.default_rng(len(_case_id(case)) + 7 * LAYOUTS.index(layout))
    step = _step(r, case, relu, ties)
    x = _input(r, case[0], layout, ties)
    conv = step.conv
    calls = getattr(products.KERNELS, "calls", 0)
    out = step.forward(x, training=True)
    g = r.standard_normal(out.shape).astype(np.float32)
    dx = step.backward(g, need_input_grad=True)
    if _direct(step, x):
        assert products.KERNELS.calls - calls == 2  # one call forward, one backward

    want_out, want_grads = _oracle(
        x, conv.params["kernel"], conv.params["bias"], conv.strides, conv.padding,
        step.pool.pool_size, relu, g,
    )  # fmt: skip
    assert out.dtype == np.float32 and out.shape == want_out.shape
    np.testing.assert_allclose(out, want_out, rtol=1e-5, atol=1e-5)
    got = (dx, conv.grads["kernel"], conv.grads["bias"])
    for name, a, b in zip(("dx", "dkernel", "dbias"), got, want_grads):
        assert a.dtype == np.float32 and a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4, err_msg=name)

    # the first layer of a model skips dx: the same parameter gradients
    step.forward(x, training=True)
    assert step.backward(g, need_input_grad=False) is None
    np.testing.assert_allclose(conv.grads["kernel"], got[1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(conv.grads["bias"], got[2], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_fused_step_forward_equals_the_im2col_path(case):
    # The direct kernel sums each window in im2col's column order, then the bias -- the
    # order of the products -- so its outputs are the im2col path's floats, inference too.
    r = np.random.default_rng(3)
    step = _step(r, case, relu=True, ties=False)
    conv = step.conv
    x = r.standard_normal(case[0]).astype(np.float32)
    want, _ = ops.conv2d_maxpool_forward(
        x, conv.params["kernel"], conv.params["bias"], conv.strides, conv.padding,
        step.pool.pool_size, relu=True,
    )  # fmt: skip
    for training in (True, False):
        np.testing.assert_array_equal(step.forward(x, training=training), want)


def test_fused_step_keeps_its_buffers_and_follows_a_new_batch_size():
    r = np.random.default_rng(5)
    step = _step(r, CASES[1], relu=True, ties=False)
    outs = []
    for n in (5, 5, 3):
        x = r.standard_normal((n, 8, 8, 1)).astype(np.float32)
        out = step.forward(x, training=True)
        want, _ = _oracle(
            x, step.conv.params["kernel"], step.conv.params["bias"], (1, 1), "valid", (2, 2),
            True, np.zeros(out.shape, np.float32),
        )  # fmt: skip
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
        step.backward(np.ones_like(out), need_input_grad=False)
        outs.append(out)
    assert outs[1] is outs[0]  # the same buffer, refilled (training)
    assert outs[2].shape[0] == 3


def test_fused_step_propagates_nan_like_the_layers():
    # A NaN input makes the windows that read it NaN (np.maximum's rule), the others stay.
    r = np.random.default_rng(9)
    step = _step(r, CASES[1], relu=True, ties=False)
    x = r.standard_normal((5, 8, 8, 1)).astype(np.float32)
    x[0, 0, 0, 0] = np.nan
    out = step.forward(x, training=True)
    assert np.isnan(out[0, 0, 0]).all()
    assert np.isfinite(out[1:]).all() and np.isfinite(out[0, 1:]).all()
