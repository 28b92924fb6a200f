"""Layer behaviour, and the fast kernels in pycnn.ops against the loop-based reference."""

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


@pytest.mark.parametrize("seed", range(25))
def test_conv2d_forward_matches_reference(seed):
    x, (kh, kw), strides, padding, c_out, r = _random_case(seed)
    kernel = r.standard_normal((kh, kw, x.shape[3], c_out)).astype(np.float32)
    bias = r.standard_normal(c_out).astype(np.float32)
    out, _ = ops.conv2d_forward(x, kernel, bias, strides, padding)
    expected = reference.conv2d_naive(x, kernel, bias, strides, padding)
    assert out.dtype == np.float32
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize(
    "fast, naive",
    [
        (ops.max_pool2d_forward, reference.max_pool2d_naive),
        (ops.avg_pool2d_forward, reference.avg_pool2d_naive),
    ],
    ids=["max", "avg"],
)
def test_pool_forward_matches_reference(seed, fast, naive):
    x, pool, strides, padding, _, _ = _random_case(seed)
    out, _ = fast(x, pool, strides, padding)
    expected = naive(x, pool, strides, padding)
    assert out.dtype == np.float32
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


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
