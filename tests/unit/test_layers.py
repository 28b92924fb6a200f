"""Layer behaviour (the fast kernels against the loop-based reference: tests/unit/test_ops.py)."""

import numpy as np
import pytest

from pycnn import ops, reference

rng = np.random.default_rng(1234)


def _random_case(seed):
    r = np.random.default_rng(seed)
    kh, kw = int(r.integers(1, 6)), int(r.integers(1, 6))
    sh, sw = int(r.integers(1, 4)), int(r.integers(1, 4))
    padding = str(r.choice(["valid", "same"]))
    h = int(r.integers(kh, kh + 7))
    w = int(r.integers(kw, kw + 7))
    n, c_in, c_out = int(r.integers(1, 3)), int(r.integers(1, 4)), int(r.integers(1, 4))
    x = r.standard_normal((n, h, w, c_in)).astype(np.float32)
    return x, (kh, kw), (sh, sw), padding, c_out, r


@pytest.mark.parametrize(
    "n, k, s, expected",
    [
        (5, 3, 1, (1, 1)),
        (6, 3, 2, (0, 1)),
        (5, 2, 1, (0, 1)),
        (7, 3, 3, (1, 1)),
        (4, 1, 2, (0, 0)),
        (2, 5, 1, (2, 2)),
    ],
)
def test_same_padding_puts_extra_at_the_end(n, k, s, expected):
    assert ops.same_padding(n, k, s) == expected
    assert reference.pad_amounts(n, k, s, "same") == expected


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("kind", ["conv", "max", "avg"])
def test_float32_backward_agrees_with_float64(seed, kind):
    """The gradient checks run in float64; this pins the float32 path to the same numbers."""
    x, window, strides, padding, c_out, r = _random_case(seed)
    if kind == "conv":
        kernel = r.standard_normal((*window, x.shape[3], c_out)).astype(np.float32)
        bias = r.standard_normal(c_out).astype(np.float32)
        results = []
        for dtype in (np.float32, np.float64):
            out, cache = ops.conv2d_forward(
                x.astype(dtype), kernel.astype(dtype), bias.astype(dtype), strides, padding
            )
            g = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
            results.append(ops.conv2d_backward(g, cache))
            if dtype == np.float32:
                no_dx, dk_only, _ = ops.conv2d_backward(g, cache, need_input_grad=False)
                assert no_dx is None
                np.testing.assert_allclose(dk_only, results[0][1], rtol=1e-5, atol=1e-5)
        assert all(a.dtype == np.float32 for a in results[0])
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
        return
    fwd, bwd = {
        "max": (ops.max_pool2d_forward, ops.max_pool2d_backward),
        "avg": (ops.avg_pool2d_forward, ops.avg_pool2d_backward),
    }[kind]
    results = []
    for dtype in (np.float32, np.float64):
        out, cache = fwd(x.astype(dtype), window, strides, padding)
        g = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
        results.append(bwd(g, cache))
    assert results[0].dtype == np.float32 and results[0].shape == x.shape
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- layer objects


def test_conv_and_dense_parameters_follow_keras_layout():
    from pycnn import Conv2D, Dense

    conv = Conv2D(5, (3, 2))
    conv.build((7, 6, 4), np.random.default_rng(0))
    assert set(conv.params) == {"kernel", "bias"}
    assert conv.params["kernel"].shape == (3, 2, 4, 5) and conv.params["bias"].shape == (5,)
    limit = np.sqrt(6 / (3 * 2 * 4 + 3 * 2 * 5))  # glorot uniform
    assert np.abs(conv.params["kernel"]).max() <= limit
    assert np.abs(conv.params["kernel"]).max() > 0.8 * limit
    assert not conv.params["bias"].any()
    dense = Dense(3)
    dense.build((10,), np.random.default_rng(0))
    assert dense.params["kernel"].shape == (10, 3) and dense.params["bias"].shape == (3,)
    for layer in (conv, dense):
        assert all(p.dtype == np.float32 for p in layer.params.values())


def test_backward_fills_grads_and_never_changes_params():
    from pycnn import Conv2D, Dense

    for layer, shape in ((Conv2D(2, 3, activation="relu"), (5, 5, 1)), (Dense(4), (6,))):
        layer.build(shape, np.random.default_rng(0))
        before = {k: v.copy() for k, v in layer.params.items()}
        x = rng.standard_normal((3, *shape)).astype(np.float32)
        out = layer.forward(x, training=True)
        dx = layer.backward(np.ones_like(out))
        assert dx.shape == x.shape and dx.dtype == np.float32
        assert {k: g.shape for k, g in layer.grads.items()} == {
            k: p.shape for k, p in layer.params.items()
        }
        for k, value in before.items():
            np.testing.assert_array_equal(layer.params[k], value)


def test_forward_matches_reference_through_the_layer():
    from pycnn import AveragePooling2D, Conv2D, MaxPooling2D

    x = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    conv = Conv2D(4, (3, 2), strides=(2, 1), padding="same", activation="relu")
    conv.build((7, 6, 3), np.random.default_rng(1))
    expected = np.maximum(
        reference.conv2d_naive(x, conv.params["kernel"], conv.params["bias"], (2, 1), "same"), 0
    )
    np.testing.assert_allclose(conv.forward(x), expected, rtol=1e-4, atol=1e-5)
    pool = MaxPooling2D(3, strides=2, padding="same")
    np.testing.assert_allclose(
        pool.forward(x), reference.max_pool2d_naive(x, (3, 3), (2, 2), "same")
    )
    avg = AveragePooling2D((2, 3), padding="same")
    np.testing.assert_allclose(
        avg.forward(x), reference.avg_pool2d_naive(x, (2, 3), (2, 3), "same"), rtol=1e-5
    )


def test_layer_repr_and_config():
    from pycnn import Conv2D, Dropout, MaxPooling2D

    assert repr(Conv2D(8, 3)) == (
        "Conv2D(filters=8, kernel_size=[3, 3], strides=[1, 1], padding='valid', "
        "activation='linear')"
    )
    assert MaxPooling2D(3).get_config()["strides"] == [3, 3]  # strides default to pool_size
    assert Dropout(0.5).get_config()["rate"] == 0.5


def test_backward_before_forward_is_a_clear_error():
    from pycnn import Dense

    layer = Dense(2)
    with pytest.raises(RuntimeError, match="build"):
        layer.forward(np.ones((1, 3), np.float32))
    layer.build((3,))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((1, 2), np.float32))


def test_same_padding_extra_goes_bottom_right_in_the_real_conv():
    # 4x4 input, 2x2 kernel, stride 1, same: one padding row/col, placed after
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    kernel = np.ones((2, 2, 1, 1), np.float32)
    out, _ = ops.conv2d_forward(x, kernel, np.zeros(1, np.float32), (1, 1), "same")
    assert out.shape == (1, 4, 4, 1)
    assert out[0, 0, 0, 0] == 0 + 1 + 4 + 5  # no padding above/left
    assert out[0, 3, 3, 0] == 15  # bottom-right window sees only x[3, 3] and padding
    pooled, _ = ops.max_pool2d_forward(-x, (2, 2), (1, 1), "same")
    assert pooled[0, 3, 3, 0] == -15  # -inf padding never wins, even over negatives
    avg, _ = ops.avg_pool2d_forward(x, (2, 2), (1, 1), "same")
    assert avg[0, 3, 3, 0] == 15 and avg[0, 3, 2, 0] == (14 + 15) / 2  # real elements only


@pytest.mark.parametrize("size, k, s", [(2, 5, 1), (1, 3, 2), (3, 4, 3), (2, 2, 3)])
def test_same_padding_when_window_exceeds_input(size, k, s):
    x = rng.standard_normal((1, size, size + 1, 2)).astype(np.float32)
    kernel = rng.standard_normal((k, k, 2, 3)).astype(np.float32)
    bias = np.zeros(3, np.float32)
    out, _ = ops.conv2d_forward(x, kernel, bias, (s, s), "same")
    expected = reference.conv2d_naive(x, kernel, bias, (s, s), "same")
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    for fast, naive in (
        (ops.max_pool2d_forward, reference.max_pool2d_naive),
        (ops.avg_pool2d_forward, reference.avg_pool2d_naive),
    ):
        np.testing.assert_allclose(
            fast(x, (k, k), (s, s), "same")[0], naive(x, (k, k), (s, s), "same"), rtol=1e-5
        )
