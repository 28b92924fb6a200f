#!/usr/bin/env python3
"""How long the starter model takes to learn the colour dataset, in the real page and natively.

    .venv/bin/python benchmarks/bench_colour_shapes.py [--site site] [--runs 3] [--epochs 5]

The ``colour-shapes`` dataset (32×32 RGB, nine classes) is sized so that the starter
model (Conv2D(8, 3)-MaxPooling2D(2)-Flatten-Dense(9, softmax), the page's defaults:
Adam 0.01, batch 32, 10 % held out) learns it far above chance (1/9) in well under a
minute in a learner's browser. This prints, per run, the wall-clock time from pressing
Train to the test accuracy in headless Chromium on the built site (every non-localhost
request blocked, as in tests/e2e; the first run also generates the images in the page),
the test accuracy it shows, and the same training natively in this process for the
ratio. A benchmark, never run as a test.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path

from tests.e2e import e2e_support as sup

ROOT = Path(__file__).resolve().parents[1]
LAYERS = "conv2d:8:3,maxpool:2,flatten,dense:9:softmax"


def _native(epochs: int) -> tuple[float, float]:
    """Seconds to train and the test accuracy, pycnn in this process (data already made)."""
    from playground.analysis import build_model
    from pycnn import Adam, datasets

    (x, y), (x_test, y_test), _ = datasets.load("colour-shapes")
    model = build_model(LAYERS, x.shape[1:])
    model.compile(optimizer=Adam(0.01), metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=32, validation_split=0.1)
    seconds = time.perf_counter() - start
    accuracy = float((model.predict(x_test).argmax(axis=1) == y_test).mean())
    return seconds, accuracy


def _in_page(page) -> tuple[float, float]:
    """Press Train (after Reset weights) and wait for the test accuracy."""
    page.locator(".cp-reset button").first.click()
    sup.wait_text(page.locator(".cp-status"), r"^(Weights reset|Not trained)", timeout_s=60)
    start = time.perf_counter()
    page.locator(".cp-train button").first.click()
    sup.wait_text(page.locator(".cp-status"), r"^Finished", timeout_s=600)
    text = sup.wait_text(page.locator(".cp-test-accuracy"), r"\d+\.\d %", timeout_s=120)
    seconds = time.perf_counter() - start
    return seconds, float(re.search(r"([\d.]+) %", text).group(1)) / 100


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", type=Path, default=ROOT / "site")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5, help="epochs per run (the page's default 5)")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    server = sup.LocalServer(args.site.resolve(), "/")
    proxy = sup.BlackholeProxy()
    browser_runs, native_runs = [], []
    try:
        with sync_playwright() as pw:
            browser = sup.launch_chromium(pw, proxy_port=proxy.port)
            print(f"Chromium {browser.version}; {sup.describe_chromium()}")
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            sup.instrument_context(context, sup.Monitor(allowed_ports={server.port}))
            page = context.new_page()
            query = f"?dataset=colour-shapes&layers={LAYERS}&epochs={args.epochs}"
            page.goto(server.url + query)
            sup.wait_until_live(page)
            for run in range(args.runs):
                # side by side: the machine's load meets both alike
                browser_runs.append(_in_page(page))
                native_runs.append(_native(args.epochs))
                (b_s, b_acc), (n_s, n_acc) = browser_runs[-1], native_runs[-1]
                print(
                    f"run {run + 1}: page {b_s:5.1f} s to {b_acc * 100:.1f} %   "
                    f"native {n_s:5.1f} s to {n_acc * 100:.1f} %   native/page {n_s / b_s:.2f}"
                )
            browser.close()
    finally:
        proxy.stop()
        server.stop()
    ratios = [n[0] / b[0] for b, n in zip(browser_runs, native_runs)]
    print(
        f"\ncolour-shapes, starter model, {args.epochs} epochs (chance 11.1 %), "
        f"median of {args.runs}: page {statistics.median(b[0] for b in browser_runs):.1f} s "
        f"to {statistics.median(b[1] for b in browser_runs) * 100:.1f} % test accuracy; native "
        f"{statistics.median(n[0] for n in native_runs):.1f} s; native/page "
        f"{statistics.median(ratios):.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
