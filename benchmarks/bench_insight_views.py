#!/usr/bin/env python3
"""Training speed in the real page with the insight views: does watching cost speed?

    .venv/bin/python benchmarks/bench_insight_views.py [--site site] [--baseline OLD_SITE]
        [--rounds 5] [--keras-rounds 3]

The filters (and the feature maps) are redrawn while the network trains, within
a tenth of the time (``playground.insight.throttle.Throttle``). This measures,
in headless Chromium on the built site with every non-localhost request
blocked, two things:

- the training speed the learner sees in the status line ("… samples/s"): pycnn
  counts the images of an epoch per second of wall-clock time in the page's
  Python worker, so it includes whatever the page does between batches (every
  status text the page shows is recorded by a MutationObserver, none missed);
- the CPU time of the page's renderer process (all its threads: the Python
  worker, the page drawing the pictures) for the whole run, from
  ``/proc/<pid>/task/*/schedstat``: other jobs on a shared machine slow the
  wall clock down, but hardly this.

In three set-ups:

- ``filters``: the "See inside" section showing the filters (redrawn live);
- ``code``: the same page showing "Read the code" (nothing redrawn while training);
- ``baseline``: ``--baseline``, a site built without the views (optional), e.g.
  ``git worktree add /tmp/old main && cd /tmp/old && python3 build.py build --out /tmp/site-old``.

Two models: the starter model on ``digits`` (steps of about 2 ms in the browser,
the hardest case for a redraw of a few ms: the throttle lets one in only every
dozen steps), ``--epochs`` epochs per run; and the Keras "Simple MNIST convnet"
on MNIST at batch 128, ``--keras-batches`` batches, then Stop (the CPU time then
also holds the test accuracy measured after Stop, alike in every set-up). Each
round runs every set-up once, alternating the order; between runs Reset weights
gives the same starting point. Ratios are taken within a round; medians are
printed. A benchmark, never run as a test.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import e2e_support as sup

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


def _show(page, label: str | None) -> None:
    """Choose a view of the "See inside" section (None: a page without it)."""
    if label is None:
        return
    page.locator(".cp-inside-choice button", has_text=label).first.click()
    page.wait_for_timeout(1500)  # the view is built and drawn before the run starts


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


def _cpu() -> dict[int, float]:
    """CPU seconds so far of each renderer process (all its threads: the page's main
    thread, the Python worker, compositing)."""
    out = {}
    for pid in _renderers():
        try:
            out[pid] = (
                sum(
                    int((task / "schedstat").read_text().split()[0])
                    for task in Path(f"/proc/{pid}/task").iterdir()
                )
                / 1e9
            )
        except (OSError, ValueError):  # ended meanwhile
            continue
    return out


def _run(page, batches: int | None) -> tuple[float, float]:
    """Press Train; return (training speed in samples/s, renderer CPU seconds of the run).

    The speed is the one the status line shows, measured by pycnn in the page's
    Python worker: the median of the epochs' own figures, or with ``batches`` the
    running figure of the first epoch when Stop was pressed.

    The renderer is the page's own: of the benchmark's pages (each in its own browser
    context, so its own process) only the one training works hard meanwhile.

    Without ``batches``: the whole run. With it: Stop once that many batches are done.
    """
    page.evaluate("() => { window.cpStatusLog = [] }")
    page.locator(".cp-reset button").first.click()
    _wait_log(page, lambda text: "Weights reset" in text, 30)
    page.evaluate("() => { window.cpStatusLog = [] }")
    cpu = _cpu()
    page.locator(".cp-train button").first.click()
    if batches is not None:
        _wait_log(
            page, lambda text: (m := BATCH.match(text)) is not None and int(m.group(1)) >= batches
        )
        page.locator(".cp-stop button").first.click()
    log = _wait_log(page, lambda text: text.startswith(("Finished", "Stopped:")))
    after = _cpu()
    cpu = max(after[pid] - cpu.get(pid, 0.0) for pid in after)
    speeds = [
        (text, float(m.group(1).replace(",", ""))) for _t, text in log if (m := SPEED.match(text))
    ]
    if batches is not None:
        return speeds[-1][1], cpu
    return statistics.median(v for text, v in speeds if "validation accuracy" in text), cpu


def _measure(pages: dict, query: str, rounds: int, batches: int | None) -> dict:
    """``pages``: set-up -> (Page, site address, view label or None).
    Returns set-up -> [(samples/s, CPU s) per round]."""
    for page, url, _label in pages.values():
        page.goto(url + query)
        sup.wait_until_live(page)
        page.locator(".cp-status").first.evaluate(_WATCH)
    order = list(pages)
    figures: dict[str, list[tuple[float, float]]] = {key: [] for key in order}
    for r in range(rounds):
        for key in order if r % 2 == 0 else order[::-1]:
            page, _url, label = pages[key]
            _show(page, label)
            speed, cpu = _run(page, batches)
            figures[key].append((speed, cpu))
            print(f"  round {r + 1} {key:9s} {speed:9,.0f} samples/s {cpu:7.2f} s CPU", flush=True)
    return figures


def _report(title: str, figures: dict) -> None:
    print(f"\n== {title} (median of {len(figures['filters'])} rounds) ==")
    for i, what in enumerate(("training speed, samples/s", "renderer CPU s of the whole run")):
        print(f"  {what}:")
        for key, values in figures.items():
            print(
                f"    {key:9s} {statistics.median(v[i] for v in values):9,.2f}   (runs: "
                + ", ".join(f"{v[i]:,.2f}" for v in values)
                + ")"
            )
        for a, b in (("filters", "code"), ("filters", "baseline"), ("code", "baseline")):
            if a in figures and b in figures:
                ratios = [x[i] / y[i] for x, y in zip(figures[a], figures[b])]
                print(
                    f"    {a} / {b}: {statistics.median(ratios):.3f} "
                    f"(rounds {min(ratios):.3f}–{max(ratios):.3f})"
                )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", type=Path, default=ROOT / "site")
    ap.add_argument("--baseline", type=Path, help="a site built without the views")
    ap.add_argument("--rounds", type=int, default=5, help="rounds on digits (default 5)")
    ap.add_argument("--epochs", type=int, default=8, help="epochs per digits run (default 8)")
    ap.add_argument("--keras-rounds", type=int, default=3, help="rounds of the Keras net (0: skip)")
    ap.add_argument("--keras-batches", type=int, default=40, help="batches per Keras run")
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
                "code": page_of(servers["new"], "Read the code"),
            }
            if "old" in servers:
                pages["baseline"] = page_of(servers["old"], None)
            digits = f"?dataset=digits&layers={STARTER}&epochs={args.epochs}&batch=32"
            print(f"\nstarter model on digits, {args.epochs} epochs per run")
            _report("starter model, digits", _measure(pages, digits, args.rounds, None))
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
