"""The matrix products of pycnn.products against a float64 oracle, on every product path.

On desktop CPython these run numpy's two formulations (BLAS ``@`` and the
``einsum`` forms Pyodide uses). ``tests/pyodide/test_wasm_kernel.py`` runs this
same file inside Pyodide under Node.js with the WebAssembly kernel installed
(its SIMD and relaxed-SIMD builds) and without it: there every product goes
through :class:`pycnn.kernels.WasmKernels` (the fused max pool's passes too:
``tests/unit/test_ops.py``'s fused tests run there as well), and
``tests/pyodide/kernel_only.py`` adds what only the kernel does.

Shapes: 0- and 1-sized dimensions, sizes around the kernel's blocks (4 x 8
micro-tiles, 256-deep and 128-row / 512-column panels) and random ones; inputs
contiguous, transposed, sliced with steps, reversed.
"""

import numpy as np
import pytest

from pycnn import products

EDGE_SHAPES = [  # (m, k, n)
    (0, 5, 3),
    (5, 0, 3),
    (5, 3, 0),
    (1, 1, 1),
    (1, 7, 1),
    (3, 5, 7),
    (4, 8, 8),
    (5, 9, 9),
    (127, 257, 63),
    (129, 255, 65),
    (131, 513, 17),
    (4, 1, 520),
    (260, 3, 1030),
]


def _random_shapes(count=8):
    r = np.random.default_rng(42)
    return [tuple(int(v) for v in r.integers(1, 300, size=3)) for _ in range(count)]


SHAPES = EDGE_SHAPES + _random_shapes()
# (layout of a, layout of b)
LAYOUTS = [
    ("contiguous", "contiguous"),
    ("contiguous", "transposed"),
    ("transposed", "contiguous"),
    ("strided", "reversed"),
    ("reversed", "strided"),
]


def _matrix(r, rows, cols, layout):
    """A float32 (rows, cols) array with the given memory layout (same values either way)."""
    if layout == "contiguous":
        return r.standard_normal((rows, cols)).astype(np.float32)
    if layout == "transposed":
        return r.standard_normal((cols, rows)).astype(np.float32).T
    if layout == "strided":
        return r.standard_normal((2 * rows, 3 * cols)).astype(np.float32)[::2, ::3]
    return r.standard_normal((rows, cols)).astype(np.float32)[::-1]


@pytest.fixture(params=["matmul", "einsum"])
def formulation(request, monkeypatch):
    """numpy's BLAS and no-BLAS formulations (an installed kernel takes both)."""
    monkeypatch.setattr(products, "HAVE_BLAS", request.param == "matmul")
    return request.param


def _check(got, want, k, contiguous=True):
    assert got.dtype == np.float32
    assert got.shape == want.shape
    assert got.flags.c_contiguous or not contiguous
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * max(1.0, np.sqrt(k)))


@pytest.mark.parametrize("layouts", LAYOUTS, ids="-".join)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_product_matches_float64(shape, layouts, formulation):
    m, k, n = shape
    r = np.random.default_rng(m * 10007 + k * 101 + n)
    a = _matrix(r, m, k, layouts[0])
    b = _matrix(r, k, n, layouts[1])
    a_before, b_before = a.copy(), b.copy()
    # numpy's einsum keeps a non-contiguous input's order; mm only promises a
    # C-contiguous result for a C-contiguous a (the kernel always gives one)
    contiguous = a.flags.c_contiguous or products.KERNELS is not None
    _check(products.mm(a, b), a.astype(np.float64) @ b.astype(np.float64), k, contiguous)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_transposed_product_matches_float64(shape, formulation):
    # a.T @ g: the weight gradient of a convolution (a tall, the shared dimension long)
    m, k, n = shape
    r = np.random.default_rng(m + 7 * k + 13 * n)
    a = r.standard_normal((k, m)).astype(np.float32)  # (M, K) in mm_tn's naming: rows are k here
    g = r.standard_normal((k, n)).astype(np.float32)
    _check(products.mm_tn(a, g), a.astype(np.float64).T @ g.astype(np.float64), k)


@pytest.mark.parametrize("shape", [(32, 72, 10), (32, 1600, 10), (1600, 32, 10), (0, 5, 3)])
def test_dense_layer_product_matches_float64(shape):
    # products.matmul: the Dense layer's products (the kernel above ~32k multiply-adds)
    m, k, n = shape
    r = np.random.default_rng(k)
    a = r.standard_normal((m, k)).astype(np.float32)
    b = r.standard_normal((n, k)).astype(np.float32).T  # a transposed view, like kernel.T
    calls = getattr(products.KERNELS, "calls", 0)
    _check(products.matmul(a, b), a.astype(np.float64) @ b.astype(np.float64), k)
    if products.KERNELS is not None:
        assert (products.KERNELS.calls > calls) == (m * k * n >= products._KERNEL_MIN_MACS)


@pytest.mark.parametrize(
    "shape",
    [(0, 5, 3), (5, 0, 8), (1, 1, 1), (3, 5, 7), (6, 64, 8), (13, 9, 24), (130, 300, 40)],
    ids=lambda s: "x".join(map(str, s)),
)
@pytest.mark.parametrize("places", ["runs", "repeats", "scattered"])
def test_product_added_at_places_matches_float64(shape, places):
    # products.add_product_at: dst.flat[rows[i] + cols[j]] += (a @ b)[i, j] (the kernel's
    # cp_gemm_add_at in Pyodide, numpy's add.at otherwise). "runs": columns in runs of 8
    # adjacent places (the kernel's vector path) and rows apart; "repeats": overlapping
    # windows, many (i, j) on one place; "scattered": columns in no order.
    m, k, n = shape
    r = np.random.default_rng(m + 3 * k + 7 * n)
    a = _matrix(r, m, k, "contiguous")
    b = r.standard_normal((n, k)).astype(np.float32).T  # a transposed view, like kernel.T
    if places == "runs":
        rows, cols = np.arange(m) * (n + 8 + 3), np.arange(n) + 2 * (np.arange(n) // 8)
    elif places == "repeats":
        rows, cols = np.arange(m) * 2, np.arange(n) % 5  # windows of 5 overlap by 3
    else:
        rows, cols = r.integers(0, 50, size=m) * 7, r.permutation(3 * n)[:n]
    size = (rows.max(initial=0) + cols.max(initial=0) + 1) + 5
    dst = r.standard_normal(size).astype(np.float32)
    want = dst.astype(np.float64)
    np.add.at(want, rows[:, None] + cols, a.astype(np.float64) @ b.astype(np.float64))
    calls = getattr(products.KERNELS, "calls", 0)
    products.add_product_at(a, b, dst, rows.astype(np.int32), cols.astype(np.int32))
    repeats = 1 + (places == "repeats") * min(m, 3)  # sums of up to 3 rows' products
    np.testing.assert_allclose(dst, want, rtol=1e-4, atol=1e-4 * repeats * max(1.0, np.sqrt(k)))
    if products.KERNELS is not None:
        assert products.KERNELS.calls == calls + 1


@pytest.mark.parametrize("channels", [1, 3, 8])
@pytest.mark.parametrize("layout", ["contiguous", "channels-strided", "reversed-rows"])
@pytest.mark.parametrize("w_out", [3, 1])  # a length-1 axis may have any stride in numpy
def test_im2col_windows_match_numpy(channels, layout, w_out):
    # products.copy_windows: the im2col copy (the kernel's cp_im2col in Pyodide) against
    # numpy's copy of the same 8-D strided view, with the ones column left alone
    r = np.random.default_rng(channels)
    x = r.standard_normal((3, 9, 8, 2 * channels)).astype(np.float32)
    x = {
        "contiguous": x[..., :channels].copy(),
        "channels-strided": x[..., ::2],
        "reversed-rows": x[:, ::-1, :, :channels],
    }[layout]
    n, _, _, c = x.shape
    (kh, kw), (sh, sw), (ph, pw) = (3, 2), (2, 1), (2, 2)
    h_out = 2  # pool windows: rows (r*ph + a)*sh + i < 9, columns < 8
    k = kh * kw * c
    cols = np.full((ph * pw * n * h_out * w_out, k + 1), 7.0, dtype=np.float32)
    blocks = cols[:, :k].reshape(ph, pw, n, h_out, w_out, kh, kw, c)
    s0, s1, s2, s3 = x.strides
    strides = (s1 * sh, s2 * sw, s0, s1 * sh * ph, s2 * sw * pw, s1, s2, s3)
    want = np.lib.stride_tricks.as_strided(x, blocks.shape, strides, writeable=False).copy()
    calls = getattr(products.KERNELS, "calls", 0)
    products.copy_windows(blocks, x, strides)
    np.testing.assert_array_equal(blocks, want)
    np.testing.assert_array_equal(cols[:, k], 7.0)
    if products.KERNELS is not None:
        assert products.KERNELS.calls == calls + 1


def _dense_output_oracle(x, kernel, bias, labels):
    """Dense + softmax cross-entropy and its gradients in float64: (loss, correct, dW, db, dx)."""
    x, kernel, bias = (a.astype(np.float64) for a in (x, kernel, bias))
    n, rows = x.shape[0], np.arange(x.shape[0])
    z = x @ kernel + bias
    shifted = z - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    g = np.exp(shifted - lse)
    g[rows, labels] -= 1
    g /= n
    loss = float(np.mean(lse[:, 0] - shifted[rows, labels]))
    correct = int(np.count_nonzero(z.argmax(axis=1) == labels))
    return loss, correct, x.T @ g, g.sum(axis=0), g @ kernel.T


def _dense_output_case(n, features, classes, layout="contiguous", bias_scale=0.1, seed=0):
    from pycnn import Dense

    r = np.random.default_rng(seed)
    layer = Dense(classes, activation="softmax")
    layer.build((features,), r)
    layer.params["kernel"][...] = r.standard_normal((features, classes)).astype(np.float32)
    layer.params["bias"][...] = bias_scale * r.standard_normal(classes).astype(np.float32)
    x = _matrix(r, n, features, layout)
    labels = r.integers(0, classes, size=n).astype(np.intp)
    return layer, x, labels


@pytest.mark.parametrize(
    "n, features, classes, layout, bias_scale",
    [
        (32, 72, 10, "contiguous", 0.1),  # the starter model's output layer on digits
        (1, 5, 1, "contiguous", 0.1),  # batch 1, one class: loss 0, gradient 0
        (1, 3, 4, "transposed", 0.1),
        (7, 33, 13, "strided", 0.1),
        (5, 9, 3, "reversed", 0.1),
        (130, 17, 9, "contiguous", 0.1),  # rows past a 128-row block, edge tiles
        (16, 20, 10, "contiguous", 400.0),  # scores of several hundred: exp(z) overflows float32
    ],
)
@pytest.mark.parametrize("need_input_grad", [True, False])
def test_dense_output_step_matches_float64(
    n, features, classes, layout, bias_scale, need_input_grad
):
    # Dense.train_output: the output layer's forward, softmax cross-entropy and backward
    # (one call of the kernel's cp_dense_xent in Pyodide, numpy's chain otherwise)
    layer, x, labels = _dense_output_case(n, features, classes, layout, bias_scale, seed=n)
    kernel, bias = layer.params["kernel"].copy(), layer.params["bias"].copy()
    want_loss, want_correct, want_dw, want_db, want_dx = _dense_output_oracle(
        x, kernel, bias, labels
    )
    calls = getattr(products.KERNELS, "calls", 0)
    loss, correct, dx = layer.train_output(x, labels, need_input_grad=need_input_grad)
    assert isinstance(loss, float) and np.isfinite(loss)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5, atol=1e-6)
    assert correct == want_correct
    tol = {"rtol": 1e-4, "atol": 1e-6 * np.sqrt(max(n, features))}
    np.testing.assert_allclose(layer.grads["kernel"], want_dw, **tol)
    np.testing.assert_allclose(layer.grads["bias"], want_db, **tol)
    assert layer.grads["kernel"].dtype == layer.grads["bias"].dtype == np.float32
    if need_input_grad:
        assert dx.shape == x.shape and dx.dtype == np.float32
        np.testing.assert_allclose(dx, want_dx, **tol)
    else:
        assert dx is None
    np.testing.assert_array_equal(layer.params["kernel"], kernel)  # gradients only
    if products.KERNELS is not None:
        assert products.KERNELS.calls == calls + 1  # the whole chain in one call


def test_dense_output_step_propagates_nan_and_refuses_unknown_labels():
    layer, x, labels = _dense_output_case(4, 6, 3)
    x[2, 1] = np.nan  # a diverged run: the loss says so instead of hiding it
    loss, _, dx = layer.train_output(x, labels)
    assert np.isnan(loss)
    assert np.isnan(dx[2]).all() and np.isfinite(dx[[0, 1, 3]]).all()
    x[2, 1] = 0.0
    labels[1] = 3  # not one of the 3 classes
    with pytest.raises(IndexError):
        layer.train_output(x, labels)
