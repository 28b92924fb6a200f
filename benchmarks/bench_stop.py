#!/usr/bin/env python3
"""How fast the page answers Stop while it trains (issue 14: "within a second"). Prints
figures; not a test.

    .venv/bin/python benchmarks/bench_stop.py                    # every model, ~10 minutes
    .venv/bin/python benchmarks/bench_stop.py --stops 3 --only keras32 heavy-deep

Needs the project's venv (``.venv/``, made by ``python3 build.py test``: Playwright and the
project importable) and Chromium (found as the e2e tests find it). The built ``site/``
(``python3 build.py build`` when it is not current) is served with
``sitebuild.server.make_server``; every request leaving localhost is blocked and reported,
as in tests/e2e.

For each model the app is opened with a share link (``?dataset=…&layers=…&batch=…&epochs=100``),
Train is pressed, and at a random moment (``--seed``) the page itself clicks Stop; Train is
pressed again (training continues) until ``--stops`` stops are measured. In the page, every
text of the status line is recorded with the page's clock (a MutationObserver, so the
harness's polling adds nothing), and the click's time is taken just before the click:

- *heard*: click -> "Stopping after this batch…" (the worker has taken the click);
- *halted*: click -> "Stopped. Measuring test accuracy…", the training loop has ended
  (the figure the issue asks for);
- *test*: from then until the final "Stopped: …" status: the test accuracy measured
  after the stop, which Stop does not skip (docs/PLAYGROUND.md step 5);
- *step*: one batch step, the batch size over the samples per second the status shows
  (the epoch's running figure), and *longest*: the longest gap between status lines exactly
  one batch apart (the status changes at most every 0.1 s, so quick batches rarely give
  one; the gaps are taken where the page shows them, the plots' updates included).

The models are issue 14's four (the Keras "Simple MNIST convnet" at batch 32 and 128, the
app's default layers on MNIST, the starter on digits) and heavy ones at the largest batch
(a power of two) the page accepts for them (``playground.analysis.size_problem``: at most
3,000,000 parameters, ~400 MB of layer outputs and ``WORK_BUDGET`` multiply-adds per batch):
colour shapes (32x32x3) under Conv2D(64, 3), a colour Keras-like pair of convolutions, a
256-filter convolution, six 64-filter convolutions, and a Dense layer of ~3,000,000 weights.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.e2e import e2e_support as sup

KERAS = "conv2d:32:3,maxpool:2,conv2d:64:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax"
DEFAULT = "conv2d:8:3,maxpool:2,flatten,dense:10:softmax"
C64 = "conv2d:64:3"

# (key, dataset, layers, batch). A batch of None: the largest power of two the page accepts
# (playground.analysis.size_problem), at most --max-batch.
MODELS = [
    ("keras32", "mnist", KERAS, 32),
    ("keras128", "mnist", KERAS, 128),
    ("default-mnist", "mnist", DEFAULT, 32),
    ("starter-digits", "digits", DEFAULT, 32),
    ("heavy-conv64", "colour-shapes", "conv2d:64:3,maxpool:2,flatten,dense:9:softmax", None),
    (
        "heavy-keras",
        "colour-shapes",
        "conv2d:64:3,maxpool:2,conv2d:128:3,maxpool:2,flatten,dense:9:softmax",
        None,
    ),
    (
        "heavy-wide",
        "colour-shapes",
        "conv2d:64:3,conv2d:256:3,maxpool:2,flatten,dense:9:softmax",
        None,
    ),
    ("heavy-deep", "colour-shapes", ",".join([C64] * 6) + ",flatten,dense:9:softmax", None),
    ("heavy-dense", "colour-shapes", "flatten,dense:960:relu,dense:9:softmax", None),
]

# In the page: every status text with its time, and a click on Stop / Train timed there.
STATUS_RECORDER = r"""
(() => {
  const deep = (root, sel, out = []) => {
    out.push(...root.querySelectorAll(sel));
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) deep(el.shadowRoot, sel, out);
    return out;
  };
  const said = (window.cpStatusSaid = []);
  let watched = null, observer = null;
  const read = () => {
    const el = watched && watched.querySelector(".cp-status");
    const text = el ? el.textContent.replace(/\s+/g, " ").trim() : "";
    if (text && (!said.length || said[said.length - 1][1] !== text)) said.push([performance.now(), text]);
  };
  // The status pane's shadow root; found again if Panel redraws the pane.
  setInterval(() => {
    if (watched && watched.host && watched.host.isConnected) return;
    const el = deep(document, ".cp-status")[0];
    if (!el) return;
    if (observer) observer.disconnect();
    watched = el.getRootNode();
    observer = new MutationObserver(read);
    observer.observe(watched, { subtree: true, childList: true, characterData: true });
    read();
  }, 100);
  window.cpPress = (name) => {
    const hosts = deep(document, `.cp-${name}`);
    const buttons = hosts.flatMap((h) => [
      ...(h.tagName === "BUTTON" ? [h] : []),
      ...deep(h, "button"),
      ...(h.shadowRoot ? deep(h.shadowRoot, "button") : []),
    ]);
    const button = buttons.find((b) => !b.disabled);
    if (!button) return null;
    const t = performance.now();
    button.click();
    return t;
  };
})();
"""

BATCH_RE = re.compile(r"^Epoch (\d+)/\d+, batch (\d+)/(\d+):")
SPS_RE = re.compile(r"· ([\d,.]+) samples/s")
HEARD, HALTED, FINAL = "Stopping after this batch", "Stopped. Measuring test accuracy", "Stopped:"


def log(msg: str) -> None:
    print(msg, flush=True)


def said_since(page, t0: float) -> list[tuple[float, str]]:
    return [(t, s) for t, s in page.evaluate("window.cpStatusSaid") if t >= t0]


def wait_for(page, t0: float, prefix: str, timeout_s: float) -> float | None:
    """Page time of the first status starting with ``prefix`` after ``t0``, or None."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for t, text in said_since(page, t0):
            if text.startswith(prefix):
                return t
        page.wait_for_timeout(50)
    return None


def press(page, name: str, timeout_s: float = 30) -> float:
    deadline = time.monotonic() + timeout_s
    while True:
        t = page.evaluate("(n) => window.cpPress(n)", name)
        if t is not None:
            return t
        if time.monotonic() > deadline:
            raise RuntimeError(f"the {name} button stayed disabled for {timeout_s:.0f} s")
        page.wait_for_timeout(100)


def batch_times(said: list[tuple[float, str]], batch: int) -> tuple[list[float], list[float]]:
    """(batch / the samples per second a status line shows, the gaps between status lines
    exactly one batch apart) in s: the typical batch step and the longest ones seen."""
    typical, single = [], []
    prev = None
    for t, text in said:
        found = BATCH_RE.match(text)
        if not found:
            prev = None  # validation, test, a stop: not a batch step
            continue
        rate = SPS_RE.search(text)
        if rate:
            typical.append(batch / float(rate.group(1).replace(",", "")))
        epoch, step, steps = map(int, found.groups())
        index = (epoch - 1) * steps + step
        if prev is not None and index == prev[1] + 1:
            single.append((t - prev[0]) / 1000)
        prev = (t, index)
    return typical, single


def measure_model(browser, monitor, url: str, model, stops: int, rng, args) -> dict:
    key, dataset, layers, batch = model
    context = browser.new_context()
    sup.instrument_context(context, monitor)
    context.add_init_script(STATUS_RECORDER)
    out = {"key": key, "size": batch, "stops": [], "typical": [], "single": []}
    try:
        page = context.new_page()
        # Adam's default 0.01 makes the deep colour models' loss explode at small batches (the
        # run then ends by itself): the heavy models learn at 0.001.
        lr = "&lr=0.001" if key.startswith("heavy") else ""
        page.goto(f"{url}?dataset={dataset}&layers={layers}&batch={batch}&epochs=100{lr}")
        sup.wait_until_live(page, monitor)
        page.wait_for_timeout(1500)  # the views built after the first render settle
        for i in range(stops):
            t_train = press(page, "train")
            if wait_for(page, t_train, "Epoch", args.first_batch_timeout) is None:
                raise RuntimeError(
                    f"{key}: no training status after Train: {said_since(page, t_train)[-3:]}"
                )
            page.wait_for_timeout(int(1000 * rng.uniform(args.min_wait, args.max_wait)))
            before = said_since(page, t_train)
            try:
                t_click = press(page, "stop", 5)
            except RuntimeError as exc:  # the run ended by itself: say how
                raise RuntimeError(f"{exc}; status: {[t[:200] for _, t in before][-3:]}") from None
            heard = wait_for(page, t_click, HEARD, args.halt_timeout)
            halted = wait_for(page, t_click, HALTED, args.halt_timeout)
            final = wait_for(page, t_click, FINAL, args.test_timeout) if halted else None
            if halted and final is None:  # a second Stop ends the test measurement early
                press(page, "stop", 5)
                final = wait_for(page, t_click, FINAL, args.halt_timeout)
            run = said_since(page, t_train)
            typical, single = batch_times(run, batch)
            out["typical"] += typical
            out["single"] += single
            stop = {
                "during": before[-1][1][:60] if before else "?",
                "heard": None if heard is None else (heard - t_click) / 1000,
                "halted": None if halted is None else (halted - t_click) / 1000,
                "test": None if final is None or halted is None else (final - halted) / 1000,
            }
            out["stops"].append(stop)
            log(
                f"  {key} stop {i + 1}/{stops}: heard {fmt(stop['heard'])}, halted "
                f"{fmt(stop['halted'])}, test {fmt(stop['test'])} s (during: {stop['during']!r})"
            )
            if halted is None:
                raise RuntimeError(
                    f"{key}: the loop did not halt within {args.halt_timeout} s; status since "
                    f"the click: {[text[:80] for _, text in said_since(page, t_click)][-4:]}"
                )
    finally:
        context.close()
    return out


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def with_batches(models, max_batch: int) -> list[tuple]:
    """The models, each at its batch: the given one (which the page must accept), else the
    largest power of two up to ``max_batch`` the page accepts."""
    from playground.analysis import analyze, size_problem
    from playground.spec import parse_layers
    from pycnn.datasets import info

    out = []
    for key, dataset, layers, batch in models:
        d = info(dataset)
        analysis = analyze(parse_layers(layers), d.input_shape, d.num_classes)
        if not analysis.valid:
            sys.exit(f"{key}: the page refuses the model: {analysis.error}")
        if batch is None:
            sizes = [1 << i for i in range(max_batch.bit_length()) if 1 << i <= max_batch]
            batch = max((b for b in sizes if size_problem(analysis, b) is None), default=None)
            if batch is None:
                sys.exit(f"{key}: the page refuses it at every batch size")
        elif size_problem(analysis, batch) is not None:
            sys.exit(f"{key}: the page refuses batch {batch}: {size_problem(analysis, batch)}")
        out.append((key, dataset, layers, batch))
    return out


def report(results: list[dict], load: tuple[str, str], chromium: str, external: list) -> None:
    print()
    print(
        f"Chromium {chromium} (headless); load average {load[0]} at the start, {load[1]} at the end"
    )
    head = (
        f"{'model':16s} {'batch':>5s} {'stops':>5s} {'heard med/max':>14s} {'halted med/max':>15s} "
        f"{'test med':>9s} {'step med':>9s} {'longest':>8s}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        if r.get("error"):
            print(f"{r['key']:16s} FAILED: {r['error'][:300]}")
            continue
        stops = r["stops"]
        heard = [s["heard"] for s in stops if s["heard"] is not None]
        halted = [s["halted"] for s in stops if s["halted"] is not None]
        test = [s["test"] for s in stops if s["test"] is not None]
        print(
            f"{r['key']:16s} {r['size']:5d} {len(stops):5d} {pair(heard):>14s} "
            f"{pair(halted):>15s} {fmt(statistics.median(test) if test else None):>9s} "
            f"{fmt(statistics.median(r['typical']) if r['typical'] else None):>9s} "
            f"{fmt(max(r['single']) if r['single'] else None):>8s}"
        )
    slow = [r["key"] for r in results if any((s["halted"] or 99) > 1 for s in r.get("stops", []))]
    print(
        "seconds; heard: click -> the worker took it; halted: click -> training loop ended "
        "(goal <= 1 s); test: the test accuracy measured after; step: batch / the samples/s "
        "the status shows; longest: the longest gap between status lines one batch apart"
    )
    print(f"over 1 s from Stop to a halted loop: {', '.join(slow) if slow else 'none'}")
    print(f"requests leaving localhost: {len(external)} (blocked)")


def pair(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f}/{max(values):.2f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", type=Path, help="a built site (default: the repo's, built if stale)")
    ap.add_argument("--stops", type=int, default=4, help="Stop clicks per model (default 4)")
    ap.add_argument("--only", nargs="*", help="model keys to run (default: all)")
    ap.add_argument(
        "--max-batch", type=int, default=1024, help="largest batch tried for the heavy models"
    )
    ap.add_argument("--seed", type=int, default=14, help="seed of the random click moments")
    ap.add_argument("--min-wait", type=float, default=0.3, help="shortest wait before Stop (s)")
    ap.add_argument("--max-wait", type=float, default=3.0, help="longest wait before Stop (s)")
    ap.add_argument("--first-batch-timeout", type=float, default=180)
    ap.add_argument("--halt-timeout", type=float, default=60)
    ap.add_argument("--test-timeout", type=float, default=60)
    args = ap.parse_args(argv)
    models = with_batches([m for m in MODELS if not args.only or m[0] in args.only], args.max_batch)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("needs Playwright: run it with the project's venv (.venv/bin/python)")

    site = args.site.resolve() if args.site else sup.build_site()
    rng = random.Random(args.seed)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-stop-") as scratch:
        copy = sup.copy_site(site, Path(scratch) / "site")  # a rebuild cannot pull files away
        server = sup.LocalServer(copy, "/")
        proxy = sup.BlackholeProxy()
        monitor = sup.Monitor(allowed_ports={server.port})
        proxy.on_hit = lambda u: monitor.external_requests.append(u)
        load_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
        try:
            with sync_playwright() as pw:
                browser = sup.launch_chromium(pw, proxy_port=proxy.port)
                chromium = browser.version
                for model in models:
                    log(f"{model[0]}: {model[1]}, batch {model[3]}, {model[2]}")
                    try:
                        results.append(
                            measure_model(
                                browser, monitor, server.url, model, args.stops, rng, args
                            )
                        )
                    except Exception as exc:  # noqa: BLE001 - keep the other models' figures
                        results.append({"key": model[0], "error": f"{type(exc).__name__}: {exc}"})
                        log(f"  {model[0]} FAILED: {exc}")
                browser.close()
        finally:
            server.stop()
            proxy.stop()
    load_end = " ".join(f"{x:.1f}" for x in os.getloadavg())
    problems = monitor.problems(external=False)
    if problems:
        log("page problems seen:\n  " + "\n  ".join(p[:500] for p in problems[:10]))
    external = monitor.external_requests + proxy.hits
    report(results, (load_start, load_end), chromium, external)
    return 1 if external else 0


if __name__ == "__main__":
    sys.exit(main())
