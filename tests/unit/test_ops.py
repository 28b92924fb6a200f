"""The fast kernels in pycnn.ops against loop-based oracles: forward values and every gradient.

The forward oracle is :mod:`pycnn.reference`. The gradient oracles below are
written the same way (one window at a time, float64); the first tests check
them against the reference forward through linearity, so a wrong oracle
cannot hide a wrong fast kernel.
"""

import numpy as np
import pytest

from pycnn import ops, products, reference

# --------------------------------------------------------------------------- oracles


def _pads(h, w, kh, kw, strides, padding):
    return (
        reference.pad_amounts(h, kh, strides[0], padding),
        reference.pad_amounts(w, kw, strides[1], padding),
    )


def conv2d_backward_naive(x, kernel, grad_out, strides, padding):
    """(dx, dkernel, dbias) of ``reference.conv2d_naive``, one output pixel at a time."""
    x = x.astype(np.float64)
    kernel = kernel.astype(np.float64)
    g = grad_out.astype(np.float64)
    n, h, w, c_in = x.shape
    kh, kw, _, _ = kernel.shape
    sh, sw = strides
    (top, bottom), (left, right) = _pads(h, w, kh, kw, strides, padding)
    xp = np.zeros((n, h + top + bottom, w + left + right, c_in))
    xp[:, top : top + h, left : left + w] = x
    dxp = np.zeros_like(xp)
    dkernel = np.zeros_like(kernel)
    for r in range(g.shape[1]):
        for c in range(g.shape[2]):
            rows, cols_ = slice(r * sh, r * sh + kh), slice(c * sw, c * sw + kw)
            g_rc = g[:, r, c, :]  # (N, C_out)
            dxp[:, rows, cols_, :] += np.einsum("nf,ijcf->nijc", g_rc, kernel)
            dkernel += np.einsum("nijc,nf->ijcf", xp[:, rows, cols_, :], g_rc)
    dx = dxp[:, top : top + h, left : left + w]
    return dx, dkernel, g.sum(axis=(0, 1, 2))


def _pool_backward_naive(x, grad_out, pool_size, strides, padding, kind):
    """Route gradients like the reference pools: windows clipped to the real image."""
    x = x.astype(np.float64)
    n, h, w, ch = x.shape
    ph, pw = pool_size
    sh, sw = strides
    (top, _), (left, _) = _pads(h, w, ph, pw, strides, padding)
    dx = np.zeros_like(x)
    for r in range(grad_out.shape[1]):
        for c in range(grad_out.shape[2]):
            r0, c0 = r * sh - top, c * sw - left
            rs, cs = slice(max(r0, 0), r0 + ph), slice(max(c0, 0), c0 + pw)
            window = x[:, rs, cs, :]  # (N, wh, ww, C)
            g = grad_out[:, r, c, :]
            if kind == "avg":
                dx[:, rs, cs, :] += g[:, None, None, :] / (window.shape[1] * window.shape[2])
                continue
            flat = window.reshape(n, -1, ch)
            first = flat.argmax(axis=1)  # first maximum in row-major window order
            wi, wj = np.unravel_index(first, window.shape[1:3])
            for b in range(n):
                for k in range(ch):
                    dx[b, rs.start + wi[b, k], cs.start + wj[b, k], k] += g[b, k]
    return dx


# --------------------------------------------------------------------------- random cases


def _random_case(seed, max_channels=4):
    r = np.random.default_rng(seed)
    kh, kw = int(r.integers(1, 6)), int(r.integers(1, 6))
    sh, sw = int(r.integers(1, 4)), int(r.integers(1, 4))
    padding = str(r.choice(["valid", "same"]))
    h = int(r.integers(kh, kh + 8))  # odd and even sizes
    w = int(r.integers(kw, kw + 8))
    n = int(r.integers(1, 4))
    c_in, c_out = int(r.integers(1, max_channels + 1)), int(r.integers(1, max_channels + 1))
    x = r.standard_normal((n, h, w, c_in)).astype(np.float32)
    return x, (kh, kw), (sh, sw), padding, c_out, r


SEEDS = range(40)

# Shapes of the Keras "Simple MNIST convnet" (small batch) and a few edge cases, plus
# channel counts >= 4 (the other im2col branch).
NAMED_CASES = [
    # (N, H, W, C_in), (kh, kw), strides, padding, C_out
    ((2, 28, 28, 1), (3, 3), (1, 1), "valid", 8),
    ((2, 13, 13, 8), (3, 3), (1, 1), "valid", 6),
    ((2, 8, 8, 1), (3, 3), (1, 1), "same", 4),
    ((1, 7, 6, 5), (1, 1), (1, 1), "valid", 3),
    ((1, 7, 6, 5), (1, 1), (2, 2), "same", 3),
    ((2, 9, 10, 6), (5, 4), (3, 2), "same", 2),
    ((1, 3, 3, 4), (5, 5), (1, 1), "same", 2),
    ((1, 6, 6, 3), (2, 2), (2, 2), "valid", 2),
    # many rows, few columns: the chunked weight-gradient product (and its remainder)
    ((8, 28, 28, 1), (3, 3), (1, 1), "valid", 4),
]


def _named(i):
    shape, k, s, padding, c_out = NAMED_CASES[i]
    r = np.random.default_rng(100 + i)
    x = r.standard_normal(shape).astype(np.float32)
    return x, k, s, padding, c_out, r


def _all_cases():
    return [("seed", s) for s in SEEDS] + [("named", i) for i in range(len(NAMED_CASES))]


def _case(which):
    kind, i = which
    return _random_case(i) if kind == "seed" else _named(i)


def _ids(which):
    return f"{which[0]}{which[1]}"


# --------------------------------------------------------------------------- oracle sanity


@pytest.mark.parametrize("seed", range(6))
def test_conv_gradient_oracle_is_the_adjoint_of_the_reference(seed):
    # The conv is linear in x and in kernel: <g, f(x + d) - f(x)> == <dx, d> exactly.
    x, (kh, kw), strides, padding, c_out, r = _random_case(seed)
    x = x.astype(np.float64)
    kernel = r.standard_normal((kh, kw, x.shape[3], c_out))
    bias = r.standard_normal(c_out)
    out = reference.conv2d_naive(x, kernel, bias, strides, padding)
    g = r.standard_normal(out.shape)
    dx, dkernel, dbias = conv2d_backward_naive(x, kernel, g, strides, padding)
    d = r.standard_normal(x.shape)
    moved = reference.conv2d_naive(x + d, kernel, bias, strides, padding)
    assert np.isclose(np.sum(g * (moved - out)), np.sum(dx * d))
    dk = r.standard_normal(kernel.shape)
    moved = reference.conv2d_naive(x, kernel + dk, bias, strides, padding)
    assert np.isclose(np.sum(g * (moved - out)), np.sum(dkernel * dk))
    db = r.standard_normal(bias.shape)
    moved = reference.conv2d_naive(x, kernel, bias + db, strides, padding)
    assert np.isclose(np.sum(g * (moved - out)), np.sum(dbias * db))


# --------------------------------------------------------------------------- conv


@pytest.fixture(params=["matmul", "einsum"], autouse=False)
def formulation(request, monkeypatch):
    """Run a test with both formulations: BLAS matmul (desktop) and einsum (Pyodide)."""
    monkeypatch.setattr(products, "HAVE_BLAS", request.param == "matmul")
    return request.param


@pytest.mark.parametrize("which", _all_cases(), ids=_ids)
def test_conv2d_forward_matches_reference(which, formulation):
    x, (kh, kw), strides, padding, c_out, r = _case(which)
    kernel = r.standard_normal((kh, kw, x.shape[3], c_out)).astype(np.float32)
    bias = r.standard_normal(c_out).astype(np.float32)
    out, _ = ops.conv2d_forward(x, kernel, bias, strides, padding)
    expected = reference.conv2d_naive(x, kernel, bias, strides, padding)
    assert out.dtype == np.float32
    assert out.shape == expected.shape
    assert out.flags.c_contiguous
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("which", _all_cases(), ids=_ids)
def test_conv2d_backward_matches_oracle(which, formulation):
    x, (kh, kw), strides, padding, c_out, r = _case(which)
    kernel = r.standard_normal((kh, kw, x.shape[3], c_out)).astype(np.float32)
    bias = r.standard_normal(c_out).astype(np.float32)
    out, cache = ops.conv2d_forward(x, kernel, bias, strides, padding)
    g = r.standard_normal(out.shape).astype(np.float32)
    dx, dkernel, dbias = ops.conv2d_backward(g, cache)
    dx_ref, dkernel_ref, dbias_ref = conv2d_backward_naive(x, kernel, g, strides, padding)
    for got, want in [(dx, dx_ref), (dkernel, dkernel_ref), (dbias, dbias_ref)]:
        assert got.dtype == np.float32
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)

    # The first layer skips dx; the parameter gradients are unchanged.
    none, dkernel2, dbias2 = ops.conv2d_backward(g, cache, need_input_grad=False)
    assert none is None
    np.testing.assert_array_equal(dkernel2, dkernel)
    np.testing.assert_array_equal(dbias2, dbias)


def test_conv2d_backward_accepts_a_non_contiguous_gradient():
    r = np.random.default_rng(7)
    x = r.standard_normal((2, 6, 6, 3)).astype(np.float32)
    kernel = r.standard_normal((3, 3, 3, 4)).astype(np.float32)
    _, cache = ops.conv2d_forward(x, kernel, np.zeros(4, np.float32), (1, 1), "valid")
    g_full = r.standard_normal((2, 4, 4, 8)).astype(np.float32)
    g = g_full[..., ::2]  # strided view
    dx, dkernel, _ = ops.conv2d_backward(g, cache)
    dx_ref, dkernel_ref, _ = conv2d_backward_naive(x, kernel, np.array(g), (1, 1), "valid")
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dkernel, dkernel_ref, rtol=1e-4, atol=1e-4)


def test_conv2d_forward_does_not_modify_its_inputs():
    r = np.random.default_rng(3)
    x = r.standard_normal((2, 5, 5, 2)).astype(np.float32)
    kernel = r.standard_normal((3, 3, 2, 3)).astype(np.float32)
    bias = r.standard_normal(3).astype(np.float32)
    copies = [a.copy() for a in (x, kernel, bias)]
    out, cache = ops.conv2d_forward(x, kernel, bias, (1, 1), "same")
    ops.conv2d_backward(np.ones_like(out), cache)
    for a, b in zip((x, kernel, bias), copies):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- pooling


POOLS = [
    (ops.max_pool2d_forward, ops.max_pool2d_backward, reference.max_pool2d_naive, "max"),
    (ops.avg_pool2d_forward, ops.avg_pool2d_backward, reference.avg_pool2d_naive, "avg"),
]


@pytest.mark.parametrize("which", _all_cases(), ids=_ids)
@pytest.mark.parametrize("fwd, bwd, naive, kind", POOLS, ids=["max", "avg"])
def test_pool_forward_and_backward_match_oracle(which, fwd, bwd, naive, kind):
    x, pool, strides, padding, _, r = _case(which)
    out, cache = fwd(x, pool, strides, padding)
    expected = naive(x, pool, strides, padding)
    assert out.dtype == np.float32
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    g = r.standard_normal(out.shape).astype(np.float32)
    dx = bwd(g, cache)
    assert dx.dtype == np.float32
    assert dx.shape == x.shape
    np.testing.assert_allclose(
        dx, _pool_backward_naive(x, g, pool, strides, padding, kind), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize(
    "pool, strides", [((2, 2), (2, 2)), ((3, 3), (1, 1)), ((2, 3), (2, 1)), ((3, 2), (3, 2))]
)
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_max_pool_ties_go_to_the_first_maximum(seed, pool, strides, padding):
    # Few distinct values (and ReLU-like zeros) make ties everywhere.
    r = np.random.default_rng(seed)
    h, w = int(r.integers(pool[0], 8)), int(r.integers(pool[1], 8))
    x = np.maximum(r.integers(-2, 3, size=(2, h, w, 3)), 0).astype(np.float32)
    out, cache = ops.max_pool2d_forward(x, pool, strides, padding)
    g = r.standard_normal(out.shape).astype(np.float32)
    dx = ops.max_pool2d_backward(g, cache)
    np.testing.assert_allclose(
        dx, _pool_backward_naive(x, g, pool, strides, padding, "max"), rtol=1e-6, atol=1e-6
    )
    # Each output gradient lands exactly once.
    np.testing.assert_allclose(dx.sum(), g.sum(), rtol=1e-4, atol=1e-4)


def test_pool_backward_does_not_modify_the_gradient():
    r = np.random.default_rng(5)
    x = r.standard_normal((2, 6, 6, 3)).astype(np.float32)
    for fwd, bwd, _, _ in POOLS:
        out, cache = fwd(x, (2, 2), (2, 2), "valid")
        g = r.standard_normal(out.shape).astype(np.float32)
        g_copy = g.copy()
        bwd(g, cache)
        np.testing.assert_array_equal(g, g_copy)


# --------------------------------------------------------------------------- fused conv + max pool


def _fusable_case(seed):
    """A random conv whose output a random tiling max pool can cover (maybe leaving an edge)."""
    r = np.random.default_rng(1000 + seed)
    kh, kw = int(r.integers(1, 4)), int(r.integers(1, 4))
    sh, sw = int(r.integers(1, 3)), int(r.integers(1, 3))
    ph, pw = int(r.integers(1, 4)), int(r.integers(1, 4))
    padding = str(r.choice(["valid", "same"]))
    h = int(r.integers(kh + sh * ph, kh + sh * ph + 7))  # conv output at least one window
    w = int(r.integers(kw + sw * pw, kw + sw * pw + 7))
    n, c_in, c_out = int(r.integers(1, 3)), int(r.integers(1, 7)), int(r.integers(1, 5))
    # small integers: every product is exact in float32, and ties (also ReLU zeros) abound
    x = r.integers(-2, 3, size=(n, h, w, c_in)).astype(np.float32)
    kernel = r.integers(-1, 2, size=(kh, kw, c_in, c_out)).astype(np.float32)
    bias = r.integers(-1, 2, size=c_out).astype(np.float32)
    return x, kernel, bias, (sh, sw), padding, (ph, pw), r


FUSED_CASES = [("seed", s) for s in range(40)] + [
    # the Keras convnet's two pairs (small batch): even 26x26 and odd 11x11 conv outputs
    ("keras", ((2, 28, 28, 1), 8)),
    ("keras", ((2, 13, 13, 8), 6)),
]


def _fused_id(which):
    kind, arg = which
    return f"seed{arg}" if kind == "seed" else f"keras{arg[0][1]}x{arg[0][2]}x{arg[0][3]}"


def _fused_case(which):
    kind, arg = which
    if kind == "seed":
        return _fusable_case(arg)
    shape, c_out = arg
    r = np.random.default_rng(shape[3])
    x = r.standard_normal(shape).astype(np.float32)
    kernel = r.standard_normal((3, 3, shape[3], c_out)).astype(np.float32)
    bias = r.standard_normal(c_out).astype(np.float32)
    return x, kernel, bias, (1, 1), "valid", (2, 2), r


@pytest.mark.parametrize("relu", [True, False], ids=["relu", "linear"])
@pytest.mark.parametrize("which", FUSED_CASES, ids=_fused_id)
def test_fused_conv_maxpool_equals_conv_then_relu_then_pool(which, relu, formulation):
    # Oracle: the loop-based conv, ReLU, the loop-based pool, and their loop-based
    # gradients chained one after the other (ties to the first maximum, like the pool).
    x, kernel, bias, strides, padding, pool, r = _fused_case(which)
    z = reference.conv2d_naive(x, kernel, bias, strides, padding)
    assert ops.max_pool_tiles(z.shape[1:3], pool, pool, "valid")
    y = np.maximum(z, 0) if relu else z
    expected = reference.max_pool2d_naive(y, pool, pool, "valid")

    out, cache = ops.conv2d_maxpool_forward(x, kernel, bias, strides, padding, pool, relu)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)

    g = r.standard_normal(out.shape).astype(np.float32)
    grad_y = _pool_backward_naive(y, g, pool, pool, "valid", "max")
    grad_z = grad_y * (y > 0) if relu else grad_y
    want = conv2d_backward_naive(x, kernel, grad_z, strides, padding)
    got = ops.conv2d_maxpool_backward(g, cache)
    for name, a, b in zip(("dx", "dkernel", "dbias"), got, want):
        assert a.dtype == np.float32 and a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4, err_msg=name)
    none, dkernel, dbias = ops.conv2d_maxpool_backward(g, cache, need_input_grad=False)
    assert none is None
    np.testing.assert_array_equal(dkernel, got[1])
    np.testing.assert_array_equal(dbias, got[2])


@pytest.mark.parametrize("which", FUSED_CASES[:8] + FUSED_CASES[-2:], ids=_fused_id)
def test_fused_conv_maxpool_with_scratch_equals_without(which, formulation):
    # Training reuses the step's buffers (ops.Scratch): two batches in a row through one
    # scratch give exactly what fresh arrays give, and the second overwrites the first.
    x, kernel, bias, strides, padding, pool, r = _fused_case(which)
    scratch = ops.Scratch()
    for batch in range(2):
        xb = x if batch == 0 else r.standard_normal(x.shape).astype(np.float32)
        want_out, want_cache = ops.conv2d_maxpool_forward(
            xb, kernel, bias, strides, padding, pool, True
        )
        out, cache = ops.conv2d_maxpool_forward(
            xb, kernel, bias, strides, padding, pool, True, scratch=scratch
        )
        np.testing.assert_array_equal(out, want_out)
        g = r.standard_normal(out.shape).astype(np.float32)
        want = ops.conv2d_maxpool_backward(g, want_cache)
        got = ops.conv2d_maxpool_backward(g, cache)
        for name, a, b in zip(("dx", "dkernel", "dbias"), got, want):
            np.testing.assert_array_equal(a, b, err_msg=name)
        if batch == 0:
            first_out = out
    assert first_out is out  # the same buffer, refilled


@pytest.mark.parametrize(
    "conv_hw, pool, strides, padding, tiles",
    [
        ((26, 26), (2, 2), (2, 2), "valid", True),
        ((11, 11), (2, 2), (2, 2), "valid", True),  # the last row/column is left out
        ((12, 9), (3, 3), (3, 3), "same", True),  # "same" that adds no padding
        ((11, 11), (2, 2), (2, 2), "same", False),  # would pad
        ((11, 11), (3, 3), (1, 1), "valid", False),  # overlapping windows
        ((8, 8), (2, 2), (2, 1), "valid", False),
    ],
)
def test_max_pool_tiles(conv_hw, pool, strides, padding, tiles):
    assert ops.max_pool_tiles(conv_hw, pool, strides, padding) is tiles
