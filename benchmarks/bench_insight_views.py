#!/usr/bin/env python3
"""Training speed in the real page with the insight views open and closed, side by side.

    .venv/bin/python benchmarks/bench_insight_views.py [--site site] [--baseline OLD_SITE]
        [--rounds 5] [--keras-rounds 3] [--edits 9]

The filters and the feature maps are redrawn while the network trains, within a
share of the time (``LIVE_SHARE``, kept by ``playground.insight.throttle.Throttle``);
the promise to the learner is that watching costs at most 10 % of the training
speed. This measures it in headless Chromium on the built site, every
non-localhost request blocked, each set-up in its own browser context (its own
renderer process and Pyodide worker):

- ``filters``: "See inside" showing the filters (redrawn live);
- ``featuremaps``: showing the feature maps of a test image (redrawn live);
- ``closed``: every view opened once and then closed ("Close the view"): the
  section as a learner leaves it after looking, every view built and hidden
  (a hidden view follows nothing, so this page should train like the baseline);
- ``baseline``: with ``--baseline``, the same site without the section: a copy
  of the checkout with the ``SeeInside`` section taken out of ``playground/app.py``,
  built with ``python3 build.py build --out /tmp/site-base`` (docs/INSIGHT.md,
  "Speed in the page");
- ``twin``: with ``--twin``, a second page of the section closed as it opens
  (no view ever chosen): an A/A check, two pages that do the same, whose ratio
  shows how far apart side-by-side pages come out on this machine for nothing.

What is measured:

- the training speed the learner sees in the status line ("… samples/s"):
  pycnn counts the images of an epoch per second of wall-clock time in the
  page's Python worker, so it includes whatever the page does between batches
  (a MutationObserver records every status text, none missed);
- the CPU time of the whole run (click to test accuracy) in the page's Python
  worker thread and in its whole renderer process (also the main thread drawing
  what Python sends), from ``/proc/<pid>/task/*/schedstat``: other jobs on a
  shared machine slow the wall clock down, but hardly these.

Two models: the starter model on ``digits`` (steps of about 2 ms in the
browser, the hardest case for a redraw of a few ms), ``--epochs`` epochs per
run; and the Keras "Simple MNIST convnet" on MNIST at batch 128,
``--keras-batches`` batches, then Stop. After a warm-up run of each set-up
alone (not counted), every round trains all set-ups at the same time: one after
the other, the load of a shared machine moves the figures by more than the cost
measured (±50 % between runs of the same set-up), while runs side by side meet
the same load. Reset weights before each run gives the same starting point.
Ratios (set-up / closed) are taken within a round, and their median is printed
with the medians of the figures. The headline is the speed ratio from the
worker's CPU time: on a learner's device the page's Python worker has a core of
its own, so its speed is the inverse of its CPU time per run; the status line's
samples/s (wall clock) is printed beside it. Then the summary table's update
after an edit (``--edits``) in each set-up. A benchmark, never run as a test.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from pathlib import Path

from tests.e2e import e2e_support as sup

ROOT = Path(__file__).resolve().parents[1]

STARTER = "conv2d:8:3,maxpool:2,flatten,dense:10:softmax"
KERAS = "conv2d:32:3,maxpool:2,conv2d:64:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax"
BATCH = re.compile(r"^Epoch 1/\d+, batch (\d+)/")
SPEED = re.compile(r"^Epoch \d+/\d+, batch \d+/\d+: .* · ([\d,]+) samples/s")


# Records every text the status line shows, with the page's clock, without polling:
# a MutationObserver on the status pane's shadow root.
_WATCH = """(element) => {
  const root = element.getRootNode()
  window.cpStatusLog = []
  let last = null
  const record = () => {
    const node = root.querySelector('.cp-status')
    const text = node ? node.textContent : ''
    if (text !== last) { last = text; window.cpStatusLog.push([performance.now(), text]) }
  }
  new MutationObserver(record).observe(root, {subtree: true, childList: true, characterData: true})
  record()
}"""


# Time from changing the Conv2D's filters in the page to the summary showing the new
# parameter count (the page's clock; a MutationObserver on the summary).
_EDIT = """async (value) => {
  const deep = (root, sel, out = []) => {
    out.push(...root.querySelectorAll(sel))
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) deep(el.shadowRoot, sel, out)
    return out
  }
  const select = deep(document, '.cp-arg-filters').map((h) => h.shadowRoot && h.shadowRoot.querySelector('select')).find(Boolean)
  const root = deep(document, '.cp-summary').find((h) => h.shadowRoot).shadowRoot
  const total = () => (root.querySelector('.cp-total-params') || {}).textContent
  const before = total()
  return await new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (total() !== before) { observer.disconnect(); resolve(performance.now() - t0) }
    })
    observer.observe(root, {subtree: true, childList: true, characterData: true})
    setTimeout(() => { observer.disconnect(); resolve(null) }, 10000)
    const t0 = performance.now()
    select.value = value
    select.dispatchEvent(new Event('input', {bubbles: true}))
    select.dispatchEvent(new Event('change', {bubbles: true}))
  })
}"""
EDIT_FILTERS = ["16", "8", "32", "12", "24", "6", "48", "8", "16", "4", "32", "8"]


def _summary_latency(pages: dict, edits: int) -> dict[str, list[float]]:
    """Milliseconds per edit, edits interleaved between the set-ups."""
    out: dict[str, list[float]] = {key: [] for key in pages}
    for i in range(edits + 1):  # the first edit of each page is not counted
        for key, (page, _url, _label) in pages.items():
            ms = page.evaluate(_EDIT, EDIT_FILTERS[i % len(EDIT_FILTERS)])
            assert ms is not None, f"{key}: the summary did not change"
            if i:
                out[key].append(ms)
            page.wait_for_timeout(700)
    return out


def _log(page) -> list[tuple[float, str]]:
    return page.evaluate("() => window.cpStatusLog")


def _wait_log(page, done, timeout_s: float = 600) -> list[tuple[float, str]]:
    deadline = time.monotonic() + timeout_s
    while True:
        log = _log(page)
        if log and done(log[-1][1]):
            return log
        assert time.monotonic() < deadline, log[-3:]
        page.wait_for_timeout(250)


#: the view labels of the section, in the order of its buttons
VIEW_LABELS = ("Filters", "Feature maps", "Test results", "Read the code", "Draw to predict")
CLOSED = "closed"


def _show(page, label: str | None) -> None:
    """Choose a view of the "See inside" section (None: a page without it; ``CLOSED``:
    open every view once, then close the section)."""
    if label is None:
        return
    for each in VIEW_LABELS if label == CLOSED else (label,):
        page.locator(".cp-inside-choice button", has_text=each).first.click()
        page.wait_for_timeout(1500)  # the view is built and drawn before the run starts
    if label == CLOSED:
        page.locator(".cp-inside-close button").first.click()
        page.locator(".cp-inside-closed").first.wait_for()


def _renderers() -> set[int]:
    """Every Chromium renderer process started by this benchmark (its descendants)."""
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    mine, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        kids = [child for child, pp in parent.items() if pp == pid and child not in mine]
        mine.update(kids)
        todo += kids
    out = set()
    for pid in mine:
        try:
            if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.add(pid)
        except OSError:
            continue
    return out


def _cpu() -> dict[int, tuple[float, float]]:
    """Per renderer process: CPU seconds so far of its Web Worker threads (the page's
    Python: training, and the views' work in Python) and of all its threads (also the
    page's main thread drawing what Python sends, compositing, garbage collection)."""
    out = {}
    for pid in _renderers():
        worker = total = 0
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                ns = int((task / "schedstat").read_text().split()[0])
                total += ns
                if (task / "comm").read_text().startswith("DedicatedWorker"):
                    worker += ns
        except (OSError, ValueError):  # ended meanwhile
            continue
        out[pid] = (worker / 1e9, total / 1e9)
    return out


def _reset(page) -> None:
    """Reset weights (the same starting point for every run) and clear the status log."""
    page.evaluate("() => { window.cpStatusLog = [] }")
    page.locator(".cp-reset button").first.click()
    _wait_log(page, lambda text: "Weights reset" in text, 30)
    page.evaluate("() => { window.cpStatusLog = [] }")


def _speed(log: list, batches: int | None) -> float:
    """The training speed the status line showed, measured by pycnn in the page's
    Python worker: the median of the epochs' own figures, or with ``batches`` the
    running figure of the first epoch when Stop was pressed."""
    speeds = [
        (text, float(m.group(1).replace(",", ""))) for _t, text in log if (m := SPEED.match(text))
    ]
    if batches is not None:
        return speeds[-1][1]
    return statistics.median(v for text, v in speeds if "validation accuracy" in text)


def _grew(before: dict, after: dict) -> dict[int, tuple[float, float]]:
    return {
        pid: (w - before.get(pid, (0, 0))[0], t - before.get(pid, (0, 0))[1])
        for pid, (w, t) in after.items()
    }


def _alone(page, batches: int | None) -> tuple[int, float, float, float]:
    """One run with no other page training: (the page's renderer pid, samples/s, worker
    CPU s, page CPU s). Of the benchmark's pages (each in its own browser context, so
    its own process) only this one works hard meanwhile: its renderer grows most."""
    _reset(page)
    cpu = _cpu()
    page.locator(".cp-train button").first.click()
    if batches is not None:
        _wait_log(
            page, lambda text: (m := BATCH.match(text)) is not None and int(m.group(1)) >= batches
        )
        page.locator(".cp-stop button").first.click()
    log = _wait_log(page, lambda text: text.startswith(("Finished", "Stopped:")))
    pid, (worker, total) = max(_grew(cpu, _cpu()).items(), key=lambda item: item[1][1])
    return pid, _speed(log, batches), worker, total


def _together(pages: dict, order: list, pids: dict, batches: int | None) -> dict:
    """Every set-up trains at the same time, so each meets the same machine: a busy
    shared machine slows them alike. Returns set-up -> (samples/s, worker CPU s, page
    CPU s), each CPU time from the common start to that page's own end."""
    for key in order:
        _reset(pages[key][0])
    cpu = _cpu()
    for key in order:
        pages[key][0].locator(".cp-train button").first.click()
    out, stopped = {}, set()
    deadline = time.monotonic() + 900
    while len(out) < len(order):
        assert time.monotonic() < deadline, "the runs did not end"
        for key in order:
            if key in out:
                continue
            page = pages[key][0]
            log = _log(page)
            last = log[-1][1] if log else ""
            if batches is not None and key not in stopped:
                m = BATCH.match(last)
                if m and int(m.group(1)) >= batches:
                    page.locator(".cp-stop button").first.click()
                    stopped.add(key)
            if last.startswith(("Finished", "Stopped:")):
                worker, total = _grew(cpu, _cpu())[pids[key]]
                out[key] = (_speed(log, batches), worker, total)
        time.sleep(0.2)
    return out


def _measure(pages: dict, query: str, rounds: int, batches: int | None) -> dict:
    """``pages``: set-up -> (Page, site address, view label or None).
    Returns set-up -> [(samples/s, worker CPU s, page CPU s) per round].

    First a warm-up round, not counted, one set-up after the other: the browser
    compiles Pyodide's WebAssembly further while it runs (the first runs are
    slower), and it tells which renderer process is whose. Then ``rounds`` rounds in
    which all set-ups train at the same time.
    """
    for page, url, label in pages.values():
        page.goto(url + query)
        sup.wait_until_live(page)
        page.locator(".cp-status").first.evaluate(_WATCH)
        _show(page, label)
    order = list(pages)
    pids = {}
    for key in order:
        pids[key], speed, worker, total = _alone(pages[key][0], batches)
        print(
            f"  warm-up {key:11s} {speed:9,.0f} samples/s, CPU {worker:6.2f} s in Python's "
            f"worker, {total:6.2f} s in the page (alone)",
            flush=True,
        )
    assert len(set(pids.values())) == len(pids), f"pages share a renderer process: {pids}"
    figures: dict[str, list[tuple[float, float, float]]] = {key: [] for key in order}
    for r in range(rounds):
        run = _together(pages, order if r % 2 == 0 else order[::-1], pids, batches)
        for key in order:
            figures[key].append(run[key])
            speed, worker, total = run[key]
            print(
                f"  round {r + 1} {key:11s} {speed:9,.0f} samples/s, CPU {worker:6.2f} s in "
                f"Python's worker, {total:6.2f} s in the page",
                flush=True,
            )
    return figures


MEASURES = (
    "training speed the status line showed, samples/s",
    "CPU s of the run in the page's Python worker",
    "CPU s of the run in the whole page (renderer process)",
)


def _report(title: str, figures: dict) -> None:
    """Medians per set-up, and the medians of the ratios taken within each round."""
    print(f"\n== {title} (median of {len(figures['closed'])} rounds) ==")
    for i, what in enumerate(MEASURES):
        print(f"  {what}:")
        for key, values in figures.items():
            print(
                f"    {key:11s} {statistics.median(v[i] for v in values):9,.2f}   (runs: "
                + ", ".join(f"{v[i]:,.2f}" for v in values)
                + ")"
            )
        for key in figures:
            if key != "closed":
                ratios = _ratios(figures, key, i)
                print(
                    f"    {key} / closed: {statistics.median(ratios):.3f} "
                    f"(rounds {min(ratios):.3f}–{max(ratios):.3f})"
                )
    print("  training speed with the view open / closed (1.000: no cost; the promise: >= 0.900):")
    for key in figures:
        if key in ("closed", "baseline"):
            continue
        # speed is samples per second; with the same samples, CPU time's inverse
        shown = statistics.median(_ratios(figures, key, 0))
        worker = statistics.median(1 / r for r in _ratios(figures, key, 1))
        print(
            f"    {key:11s} {worker:.3f} from the Python worker's CPU time, "
            f"{shown:.3f} from the status line's samples/s"
        )
    if "baseline" in figures:
        # the same run's CPU time without the section over with it closed: the speed ratio
        closed = statistics.median(_ratios(figures, "baseline", 1))
        print(f"  training speed with the section closed / without it: {closed:.3f} (worker CPU)")


def _ratios(figures: dict, key: str, i: int) -> list[float]:
    """``key``'s figure over the closed page's, round by round."""
    return [x[i] / y[i] for x, y in zip(figures[key], figures["closed"])]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", type=Path, default=ROOT / "site")
    ap.add_argument("--baseline", type=Path, help="a site built without the views")
    ap.add_argument("--rounds", type=int, default=5, help="rounds on digits (default 5)")
    ap.add_argument("--epochs", type=int, default=8, help="epochs per digits run (default 8)")
    ap.add_argument("--keras-rounds", type=int, default=3, help="rounds of the Keras net (0: skip)")
    ap.add_argument("--keras-batches", type=int, default=40, help="batches per Keras run")
    ap.add_argument("--edits", type=int, default=9, help="summary edits per set-up (0: skip)")
    ap.add_argument("--twin", action="store_true", help="add an untouched closed page (A/A)")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    servers = {"new": sup.LocalServer(args.site.resolve(), "/")}
    if args.baseline:
        servers["old"] = sup.LocalServer(args.baseline.resolve(), "/")
    proxy = sup.BlackholeProxy()
    try:
        with sync_playwright() as pw:
            browser = sup.launch_chromium(pw, proxy_port=proxy.port)
            print(f"Chromium {browser.version}; {sup.describe_chromium()}")

            def page_of(server, label):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                sup.instrument_context(context, sup.Monitor(allowed_ports={server.port}))
                return context.new_page(), server.url, label

            pages = {
                "filters": page_of(servers["new"], "Filters"),
                "featuremaps": page_of(servers["new"], "Feature maps"),
                "closed": page_of(servers["new"], CLOSED),
            }
            if args.twin:
                pages["twin"] = page_of(servers["new"], None)
            if "old" in servers:
                pages["baseline"] = page_of(servers["old"], None)
            digits = f"?dataset=digits&layers={STARTER}&epochs={args.epochs}&batch=32"
            print(f"\nstarter model on digits, {args.epochs} epochs per run")
            _report("starter model, digits", _measure(pages, digits, args.rounds, None))
            if args.edits:
                latency = _summary_latency(pages, args.edits)
                print(f"\n== summary table updated after an edit, ms (median of {args.edits}) ==")
                for key, values in latency.items():
                    print(f"  {key:11s} {statistics.median(values):6.0f}   (max {max(values):.0f})")
            if args.keras_rounds:
                keras = f"?dataset=mnist&layers={KERAS}&epochs=1&batch=128&lr=0.001"
                print(f"\nKeras convnet on MNIST, {args.keras_batches} batches per run")
                figures = _measure(pages, keras, args.keras_rounds, args.keras_batches)
                _report("Keras convnet, MNIST, batch 128", figures)
            browser.close()
    finally:
        proxy.stop()
        for server in servers.values():
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
