#!/usr/bin/env python3
"""Load-time figures of the built site in headless Chromium (issue 3, "Numbers to report").

    python3 build.py bench-load [--runs 5]   (installs what it needs; or, in the project venv:)
    python benchmarks/bench_load.py [--site DIR] [--runs 5] [--json out.json]

Measures, against the real ``site/`` served locally (every non-localhost request
blocked, exactly as in the end-to-end tests):

- cold load: fresh browser profile (new context: empty HTTP cache, no service
  worker), navigation start -> ``.cp-ready`` in the page; median of ``--runs``;
- warm load: second and later visits in the same profile (HTTP cache and service
  worker filled by a first visit that is not counted); median of ``--runs``;
- bytes transferred on a cold load (response bodies + headers, every request of
  the page, its workers and its service worker; responses the service worker
  answered are not counted twice): those that arrived before ``.cp-ready``, and
  the whole first visit once the service worker has finished caching; the
  largest transfers;
- the size of ``site/`` on disk, by kind of file;
- where the time goes on a cold load: when each large file finished arriving,
  the loader's status messages and the console messages, in ms since navigation.

Prints tables; never run as a test. Times are ``performance.now()`` of the page
(navigation start = 0) in the first animation frame in which the page shows
``.cp-ready`` and no longer ``pn-loading`` (taken in the page, so the harness's
polling does not add to it; see ``_READY_CLOCK``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from tests.e2e import e2e_support as sup

MB = 1e6  # decimal megabytes, as everywhere in the docs and on the loading card
#: Issue 14's goals for the page to become clickable on a quiet machine (s).
GOAL_COLD_S = 3.0
GOAL_WARM_S = 2.0


class Run:
    """One navigation: timings, transfers, loader messages."""

    def __init__(self) -> None:
        self.ready_ms: float = float("nan")
        self.complete_ms: float = float("nan")  # the views built after the first render too
        self.requests: list = []
        self.transfers: list[tuple] = []  # page's own network transfers (see _transfers)
        self.sw_transfers: list[tuple] = []  # the service worker's own downloads
        self.after_ready: list[tuple] = []  # page's transfers that finished after .cp-ready
        self.marks: dict[str, float] = {}
        self.status: list[tuple[float, str]] = []  # (ms since navigation, loader text)
        self.console: list[tuple[float, str]] = []
        self.time_origin: float = 0.0  # epoch ms of navigation start
        self.t0: float = 0.0  # monotonic at goto

    def since_nav_ms(self) -> float:
        return (time.monotonic() - self.t0) * 1000


# The moment the app is live, taken in the page itself: once the worker's 'render' message has
# arrived (loader.js sets html[data-cp-load]), every animation frame looks for what
# sup.is_live() waits for (``.cp-ready``, also inside Bokeh's shadow roots, and no
# ``pn-loading`` on <body>). The harness's own polling would add its round trips (~0.1 s) to
# every figure; an animation-frame loop for the whole load would make the page draw frames.
_READY_CLOCK = """
(() => {
  const find = (root, selector = SELECTOR) => {
    if (root.querySelector(selector)) return true;
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot && find(el.shadowRoot, selector)) return true;
    }
    return false;
  };
  const tick = () => {
    if (!window.cpReadyAt && !document.body.classList.contains("pn-loading") && find(document)) {
      window.cpReadyAt = performance.now();
    }
    if (window.cpReadyAt && !find(document, PENDING)) {
      window.cpCompleteAt = performance.now();  // and the views built after it are drawn
    } else {
      requestAnimationFrame(tick);
    }
  };
  const watch = new MutationObserver(() => {
    const state = document.documentElement.dataset.cpLoad;
    if (state === "render" || state === "live") {
      watch.disconnect();
      tick();
    }
  });
  // (runs before <html> exists: watch the document for the attribute)
  watch.observe(document, { subtree: true, attributes: true, attributeFilter: ["data-cp-load"] });
})();
""".replace("SELECTOR", json.dumps(sup.READY_SELECTOR))
_READY_CLOCK = _READY_CLOCK.replace("PENDING", json.dumps(sup.PENDING_SELECTOR))


# How often the harness looks at the page while it loads. Every look is a round trip through
# the page's main thread; the figures come from the page's own clock, so looking less often
# only disturbs the load less.
_POLL_MS = 250


def _open_and_time(context, url: str, monitor: sup.Monitor, timeout_s: float) -> tuple:
    run = Run()
    page = context.new_page()
    page.add_init_script(_READY_CLOCK)
    page.add_init_script(sup.RECORD_LOADER_TEXT)  # the harness needs no polling for it
    page.on("request", lambda r: run.requests.append(r))
    page.on("console", lambda m: run.console.append((run.since_nav_ms(), f"[{m.type}] {m.text}")))
    run.t0 = time.monotonic()
    page.goto(url, wait_until="commit")
    deadline = time.monotonic() + timeout_s
    while not (page.evaluate("window.cpReadyAt") and sup.is_live(page)):
        problems = monitor.problems()
        if problems:
            raise RuntimeError("the page failed to load:\n" + "\n".join(problems))
        if time.monotonic() > deadline:
            said = page.evaluate("window.cpLoaderSaid || []")
            raise RuntimeError(f".cp-ready not reached in {timeout_s} s; loader: {said[-3:]}")
        page.wait_for_timeout(_POLL_MS)
    while not page.evaluate("window.cpCompleteAt") and time.monotonic() < deadline:
        page.wait_for_timeout(_POLL_MS)
    now = page.evaluate("performance.now()")
    run.ready_ms = page.evaluate("window.cpReadyAt")  # see _READY_CLOCK
    run.complete_ms = page.evaluate("window.cpCompleteAt") or float("nan")
    run.time_origin = page.evaluate("performance.timeOrigin")
    # Milestones the loader page records (site-src/loader.js), ms since navigation.
    run.marks = page.evaluate("() => Object.assign({}, window.cpLoadTimings || {})")
    run.status = [(t, s) for t, s in page.evaluate("window.cpLoaderSaid || []")]
    # Console timestamps are relative to goto(); shift them onto the page clock.
    shift = now - run.since_nav_ms()
    run.console = [(t + shift, s) for t, s in run.console]
    return page, run


def _by_service_worker(req) -> bool:
    """True for requests the service worker itself makes (e.g. its precache downloads)."""
    try:
        req.frame  # noqa: B018 - raises for service-worker requests
        return False
    except Exception as exc:  # noqa: BLE001
        return "Service Worker" in str(exc)


def _transfers(requests) -> list[tuple[str, int, float | None, bool, bool]]:
    """(url, bytes, finished at epoch ms or None, answered by the service worker,
    made by the service worker)."""
    out = []
    for req in requests:
        try:
            resp = req.response()
        except Exception:  # noqa: BLE001
            resp = None
        if resp is None:
            continue
        from_sw = bool(getattr(resp, "from_service_worker", False))
        try:
            sizes = req.sizes()
            size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        except Exception:  # noqa: BLE001 - aborted / unfinished
            size = 0
        timing = req.timing
        end = None
        if timing and timing.get("responseEnd", -1) >= 0 and timing.get("startTime", 0) > 0:
            end = timing["startTime"] + timing["responseEnd"]
        out.append((req.url, size, end, from_sw, _by_service_worker(req)))
    return out


def _site_size(site: Path) -> tuple[int, dict[str, int]]:
    total, by_kind = 0, defaultdict(int)
    for f in site.rglob("*"):
        if f.is_file():
            n = f.stat().st_size
            total += n
            name = f.name
            kind = ".whl" if name.endswith(".whl") else (f.suffix or name)
            by_kind[kind] += n
    return total, dict(by_kind)


def _wait_for_sw_cache(page, site: Path | None = None, timeout_s: float = 120) -> int:
    """Until the service worker has cached the site and, if `site` has a memory snapshot,
    the page has kept it for the next visit (site-src/unpack.js)."""
    js = """async () => {
      const reg = await navigator.serviceWorker.getRegistration();
      let n = 0, snapshot = false;
      for (const k of await caches.keys()) {
        const keys = await (await caches.open(k)).keys();
        n += keys.length;
        snapshot ||= keys.some((r) => r.url.includes('/snapshot.bin?sha256='));
      }
      return {active: !!(reg && reg.active && reg.active.state === 'activated'), n, snapshot};
    }"""
    wants_snapshot = site is not None and (site / "pyodide" / "snapshot.bin.gz").exists()
    deadline = time.monotonic() + timeout_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        state = page.evaluate(js)
        if state["n"] != last:
            last, since = state["n"], time.monotonic()
        elif (
            state["active"]
            and state["n"] > 0
            and (state["snapshot"] or not wants_snapshot)
            and time.monotonic() - since > 3
        ):
            return state["n"]
        page.wait_for_timeout(500)
    return last


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--site", type=Path, help="built site dir (default: $CNN_PLAYGROUND_SITE or build)"
    )
    ap.add_argument(
        "--runs", type=int, default=5, help="runs per measurement (>= 5 for the report)"
    )
    ap.add_argument("--timeout", type=float, default=sup.LIVE_TIMEOUT_S)
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args(argv)

    site = args.site.resolve() if args.site else sup.build_site()
    from playwright.sync_api import sync_playwright

    server = sup.LocalServer(site, "/")
    proxy = sup.BlackholeProxy()
    monitor = sup.Monitor(allowed_ports={server.port})
    proxy.on_hit = lambda url: monitor.external_requests.append(url)
    cold: list[Run] = []
    warm: list[Run] = []
    sw_bytes_after_ready = 0
    first_visit_total = 0
    print(
        f"site: {site}\nserver: {server.url}\nbrowser: {sup.describe_chromium()}\n"
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start\n",
        flush=True,
    )
    try:
        with sync_playwright() as pw:
            browser = sup.launch_chromium(pw, proxy_port=proxy.port)
            print(
                f"Chromium {browser.version}; {args.runs} cold + {args.runs} warm loads", flush=True
            )
            for i in range(args.runs):
                context = browser.new_context(service_workers="allow")
                sup.instrument_context(context, monitor, intercept=False)
                ctx_requests: list = []
                # includes the service worker's own requests
                context.on("request", lambda r, sink=ctx_requests: sink.append(r))
                page, run = _open_and_time(context, server.url, monitor, args.timeout)
                n_at_ready = len(ctx_requests)
                run.requests = list(ctx_requests[:n_at_ready])
                everything = _transfers(run.requests)
                # The page's own downloads that arrived before it was usable; the harness
                # looks only every _POLL_MS, so what the page asked for once it was drawn
                # (the package archive it fetches after live) may be among the requests.
                ready_at = run.time_origin + run.ready_ms
                mine = [t for t in everything if not t[3] and not t[4]]
                run.transfers = [t for t in mine if t[2] is None or t[2] <= ready_at]
                run.after_ready = [t for t in mine if t[2] is not None and t[2] > ready_at]
                run.sw_transfers = [t for t in everything if t[4]]
                if i == 0:
                    _wait_for_sw_cache(page, site)
                    later = _transfers(ctx_requests[n_at_ready:])
                    sw_bytes_after_ready = sum(t[1] for t in later if not t[3])
                    first_visit_total = (
                        sum(t[1] for t in everything if not t[3]) + sw_bytes_after_ready
                    )
                cold.append(run)
                print(f"  cold {i + 1}: {run.ready_ms / 1000:6.2f} s", flush=True)
                context.close()

            context = browser.new_context(service_workers="allow")
            sup.instrument_context(context, monitor, intercept=False)
            page, first = _open_and_time(context, server.url, monitor, args.timeout)
            _wait_for_sw_cache(page, site)
            page.close()
            print(f"  first visit of the warm profile: {first.ready_ms / 1000:6.2f} s", flush=True)
            for i in range(args.runs):
                page, run = _open_and_time(context, server.url, monitor, args.timeout)
                warm.append(run)
                print(f"  warm {i + 1}: {run.ready_ms / 1000:6.2f} s", flush=True)
                page.close()
            context.close()
            browser.close()
    finally:
        server.stop()
        proxy.stop()

    if monitor.external_requests:
        print("\nEXTERNAL REQUESTS ATTEMPTED (blocked):", *monitor.external_requests, sep="\n  ")

    cold_ms = [r.ready_ms for r in cold]
    warm_ms = [r.ready_ms for r in warm]
    ref = sorted(cold, key=lambda r: r.ready_ms)[len(cold) // 2]  # the median cold run
    transfers = ref.transfers
    cold_bytes = sum(t[1] for t in transfers)
    cold_bytes_all = [sum(t[1] for t in r.transfers) for r in cold]
    site_total, by_kind = _site_size(site)

    print(
        f"\nload average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs): "
        "figures from a busy machine are upper bounds"
    )
    print("\n== Load time (navigation -> .cp-ready), headless Chromium ==")
    print(f"{'':<8}{'median':>9}{'min':>9}{'max':>9}   goal")
    print(
        f"{'cold':<8}{statistics.median(cold_ms) / 1000:>8.2f}s{min(cold_ms) / 1000:>8.2f}s"
        f"{max(cold_ms) / 1000:>8.2f}s   <= {GOAL_COLD_S} s"
    )
    print(
        f"{'warm':<8}{statistics.median(warm_ms) / 1000:>8.2f}s{min(warm_ms) / 1000:>8.2f}s"
        f"{max(warm_ms) / 1000:>8.2f}s   <= {GOAL_WARM_S} s"
    )

    print("\n== Milestones, median s since navigation ==")
    milestones = ("pyodide-ready", "packages-loaded", "app-ready", "live")
    print(
        f"{'':<8}" + "".join(f"{m:>17}" for m in milestones) + f"{'.cp-ready':>12}{'all views':>12}"
    )
    for label, runs in (("cold", cold), ("warm", warm)):
        cells = [
            statistics.median(r.marks.get(m, float("nan")) for r in runs) / 1000 for m in milestones
        ]
        ready = statistics.median(r.ready_ms for r in runs) / 1000
        complete = statistics.median(r.complete_ms for r in runs) / 1000
        print(
            f"{label:<8}"
            + "".join(f"{c:>16.2f}s" for c in cells)
            + f"{ready:>11.2f}s{complete:>11.2f}s"
        )
    print(
        "(all views: also the views built right after the first render, below the first "
        "screen, drawn)"
    )

    print("\n== Bytes ==")
    print(
        f"cold transfer by the page up to .cp-ready: {cold_bytes / MB:8.2f} MB  (goal <= 30 MB; "
        f"all runs {min(cold_bytes_all) / MB:.2f}-{max(cold_bytes_all) / MB:.2f} MB, "
        f"{len(transfers)} responses)"
    )
    print(
        f"whole first visit incl. the service worker's own downloads (run 1): "
        f"{first_visit_total / MB:.2f} MB"
    )
    print(f"site/ on disk                 : {site_total / MB:8.2f} MB")
    for kind, n in sorted(by_kind.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {kind:<18}{n / MB:8.2f} MB")
    if ref.after_ready:
        print(
            "  asked for by then, arrived after: "
            + ", ".join(f"{u.rsplit('/', 1)[-1]} ({n / MB:.2f} MB)" for u, n, *_ in ref.after_ready)
        )
    print("largest cold transfers:")
    for url, n, *_ in sorted(transfers, key=lambda t: -t[1])[:10]:
        print(f"    {n / MB:7.2f} MB  {url.split('/', 3)[-1][:100]}")

    print(
        f"\n== Where the time goes (median cold run, {ref.ready_ms / 1000:.2f} s), ms since navigation =="
    )
    events: list[tuple[float, str]] = []
    for url, n, end, *_ in transfers:
        if end is not None and n >= 200_000:
            events.append(
                (end - ref.time_origin, f"received {url.rsplit('/', 1)[-1]} ({n / MB:.1f} MB)")
            )
    events += [(float(t), f"milestone: {name}") for name, t in ref.marks.items()]
    events += [(t, f"loader: {s}") for t, s in ref.status]
    seen_console: set[str] = set()
    for t, text in ref.console:  # first occurrence of each message only (Bokeh repeats itself)
        if text not in seen_console:
            seen_console.add(text)
            events.append((t, f"console {text[:110]}"))
    events.append((ref.ready_ms, ".cp-ready (app live)"))
    for t, what in sorted(events):
        print(f"  {t:8.0f}  {what}")

    def phases(run: Run) -> dict[str, float]:
        m, out, prev = run.marks, {}, 0.0
        for name, label in (
            ("pyodide-ready", "Pyodide boot"),
            ("packages-loaded", "packages"),
            ("app-ready", "app import + first document"),
            ("render-start", "hand-over to the page"),
            ("live", "first render"),
        ):
            if name in m:
                out[label] = m[name] - prev
                prev = m[name]
        out["until .cp-ready"] = run.ready_ms - prev
        return out

    for label, runs in (("cold", cold), ("warm", warm)):
        per = [phases(r) for r in runs]
        keys = [k for k in per[0]] if per else []
        if keys:
            print(f"\n== Phases, {label} (median of {len(per)} runs, ms) ==")
            for k in keys:
                vals = [p[k] for p in per if k in p]
                print(f"  {k:<30}{statistics.median(vals):8.0f}")

    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "cold_ms": cold_ms,
                    "warm_ms": warm_ms,
                    "cold_median_ms": statistics.median(cold_ms),
                    "warm_median_ms": statistics.median(warm_ms),
                    "cold_bytes": cold_bytes,
                    "first_visit_total_bytes": first_visit_total,
                    "site_bytes": site_total,
                    "site_bytes_by_kind": by_kind,
                    "timeline_ms": sorted(events),
                    "cold_marks": [r.marks for r in cold],
                    "warm_marks": [r.marks for r in warm],
                    "external_requests": monitor.external_requests,
                },
                indent=2,
            )
        )
    return 1 if monitor.external_requests else 0


if __name__ == "__main__":
    sys.exit(main())
