"""pycnn's WebAssembly kernel in the real page: used for training, same results, and optional.

Chromium runs the relaxed-SIMD build; ``?kernel=simd`` forces the plain SIMD build and
``?kernel=numpy`` switches the kernel off (numpy does the work, as in a browser without
WebAssembly SIMD). The page says which runs in ``html[data-cp-kernel]``. Results are
compared with this process's pycnn (desktop CPython, numpy with BLAS) on the same seed.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
import same_seed_run

from playground.links import format_query
from playground.state import PlaygroundState

pytestmark = pytest.mark.e2e

SAME_SEED_RUN = Path(same_seed_run.__file__).read_text() + "\nrun()\n"


def _app_worker(page):
    """The page's Pyodide worker (app.js)."""
    deadline = time.monotonic() + 10
    while True:
        workers = [w for w in page.workers if w.url.split("?")[0].endswith("/app.js")]
        if workers:
            return workers[0]
        assert time.monotonic() < deadline, (
            f"no app.js worker among {[w.url for w in page.workers]}"
        )
        page.wait_for_timeout(100)


def _in_worker(page, code: str):
    """Run Python in the page's own Pyodide (the one the app trains with)."""
    return _app_worker(page).evaluate("(code) => self.pyodide.runPython(code)", code)


def _kernel_calls(page) -> int:
    return _in_worker(page, "from pycnn import products; getattr(products.KERNELS, 'calls', -1)")


def _train_briefly(page) -> None:
    """Click Train (2 epochs of the starter model on digits) and wait until it finishes."""
    epochs = page.locator(".cp-epochs input").first
    epochs.fill("2")
    epochs.press("Enter")
    page.wait_for_timeout(300)
    page.locator(".cp-train button").first.click()
    status = page.locator(".cp-status").first
    deadline = time.monotonic() + 120
    while not re.match(r"^Finished", status.inner_text()):
        assert time.monotonic() < deadline, f"training did not finish: {status.inner_text()!r}"
        page.wait_for_timeout(200)


# The starter model in free play, as the app's share link gives it (the plain address
# opens the lesson, whose first model has no Conv2D and makes few matrix products).
STARTER = format_query(PlaygroundState())


def test_training_in_the_page_uses_the_relaxed_simd_kernel_and_matches_cpython(open_app):
    page = open_app(STARTER)
    assert page.evaluate("document.documentElement.dataset.cpKernel") == "wasm-relaxed-simd"
    before = _kernel_calls(page)
    assert before >= 0  # installed
    _train_briefly(page)
    assert _kernel_calls(page) > before + 100  # the app's training went through the kernel

    browser = json.loads(_in_worker(page, SAME_SEED_RUN))
    native = json.loads(same_seed_run.run())
    assert browser["kernels"] == "wasm-relaxed-simd"
    assert browser["calls"] >= 40  # 10 steps x (2 layers x (products + pool passes))
    assert native["kernels"] == "numpy"
    np.testing.assert_allclose(browser["losses"], native["losses"], rtol=1e-4)
    assert browser["losses"][-1] < browser["losses"][0]
    for got, want in zip(browser["weights"], native["weights"], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)


def test_plain_simd_kernel_can_be_chosen(open_app):
    page = open_app("?kernel=simd")
    assert page.evaluate("document.documentElement.dataset.cpKernel") == "wasm-simd"
    result = json.loads(_in_worker(page, SAME_SEED_RUN))
    assert result["kernels"] == "wasm-simd" and result["calls"] >= 40


def test_without_the_kernel_the_page_still_trains_with_numpy(open_app):
    page = open_app(STARTER + "&kernel=numpy")
    assert page.evaluate("document.documentElement.dataset.cpKernel") == "numpy"
    assert _kernel_calls(page) == -1  # nothing installed: pycnn.products uses numpy
    _train_briefly(page)
    result = json.loads(_in_worker(page, SAME_SEED_RUN))
    assert result["kernels"] == "numpy"
    assert result["losses"][-1] < result["losses"][0]
