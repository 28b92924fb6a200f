"""What only pycnn's WebAssembly kernel does, checked inside Pyodide with the kernel loaded.

Not collected by the desktop suite (the file name does not start with ``test_``):
``tests/pyodide/test_wasm_kernel.py`` passes it to pytest inside Pyodide, next to
``tests/unit/test_kernels.py`` and the convolution tests of ``tests/unit/test_ops.py``.
"""

import numpy as np
import pytest

from pycnn import kernels, products


@pytest.fixture(autouse=True)
def _kernel_installed():
    assert products.KERNELS is not None, "run by test_wasm_kernel.py with a kernel loaded"


@pytest.mark.parametrize("limit", [1, 64, 5000])
@pytest.mark.parametrize("shape", [(37, 19, 11), (5, 3000, 7), (300, 40, 9)])
def test_kernel_splits_big_products_into_calls(shape, limit, monkeypatch):
    # Small call limits force both ways of splitting: by rows of A, and (when one row is
    # already too much work) by slices of the shared dimension, accumulated in place.
    monkeypatch.setattr(kernels, "MAX_CALL_MACS", limit)
    m, k, n = shape
    r = np.random.default_rng(k)
    a = r.standard_normal((m, k)).astype(np.float32)
    b = r.standard_normal((k, n)).astype(np.float32)[:, ::-1]
    calls = products.KERNELS.calls
    got = products.KERNELS.matmul(a, b)
    assert got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4 * np.sqrt(k))
    assert m * k * n > limit
    assert products.KERNELS.calls - calls >= 2  # split


@pytest.mark.parametrize("shape", [(37, 19, 11), (5, 3000, 7)])
def test_product_added_at_places_splits_into_calls(shape, monkeypatch):
    # cp_gemm_add_at split by rows (37 x 19) and by depth (5 x 3000): every call adds its part
    monkeypatch.setattr(kernels, "MAX_CALL_MACS", 64)
    m, k, n = shape
    r = np.random.default_rng(m)
    a = r.standard_normal((m, k)).astype(np.float32)
    b = r.standard_normal((n, k)).astype(np.float32).T
    rows, cols = np.arange(m, dtype=np.int32) * 3, np.arange(n, dtype=np.int32) % 4
    dst = r.standard_normal(3 * m + 4).astype(np.float32)
    want = dst.astype(np.float64)
    np.add.at(want, rows[:, None] + cols, a.astype(np.float64) @ b)
    calls = products.KERNELS.calls
    products.add_product_at(a, b, dst, rows, cols)
    np.testing.assert_allclose(dst, want, rtol=1e-4, atol=1e-3 * np.sqrt(k))
    assert products.KERNELS.calls - calls >= 2  # split


def test_kernel_leaves_other_dtypes_to_numpy():
    a = np.arange(6.0).reshape(2, 3)  # float64
    calls = products.KERNELS.calls
    np.testing.assert_array_equal(products.KERNELS.matmul(a, a.T), a @ a.T)
    assert products.KERNELS.calls == calls
