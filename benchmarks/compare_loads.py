#!/usr/bin/env python3
"""Two builds of the site side by side: loads interleaved, medians of each milestone.

    python benchmarks/compare_loads.py OLD_SITE NEW_SITE [--runs 7] [--cold] [--query '?…']
        [--old-query '?…']

(in the project venv: ``.venv/bin/python``). Build the old one from a clone, e.g.
``git clone . /tmp/old && cd /tmp/old && git checkout <sha> && python3 build.py build
--out /tmp/site-old``.

On this shared 2-core machine the speed drifts by tens of per cent within minutes, so
two runs of ``bench_load.py`` made one after the other cannot show a change of a few per
cent. Here both sites are served at once, each in its own browser profile, and their loads
alternate (old, new, new, old, ...), so drift hits both alike. Warm (default): a first visit
fills each profile's caches and service worker, then every load is a second visit. Cold
(``--cold``): every load in a fresh profile. Same clock and request blocking as
``bench_load.py``. Prints the medians in ms since navigation; never run as a test.

One build against itself with a switch: ``compare_loads.py site site --old-query
'?snapshot=0'`` (the old path: Python started without the memory snapshot).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from benchmarks import bench_load as bl
from tests.e2e import e2e_support as sup

MILESTONES = ("pyodide-ready", "packages-loaded", "stage-app", "app-ready", "live")
#: Besides the loader's milestones: the page clickable, and every view on it drawn
#: (the ones built right after the first render too; bench_load.py, _READY_CLOCK).
COLUMNS = (*MILESTONES, ".cp-ready", "all views")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sites", type=Path, nargs=2, metavar="SITE", help="built site dirs: old new")
    ap.add_argument("--runs", type=int, default=7, help="loads per site (default 7)")
    ap.add_argument("--cold", action="store_true", help="fresh profile for every load")
    ap.add_argument("--query", default="", help="appended to the address, e.g. a shared link")
    ap.add_argument("--old-query", help="for the old site instead of --query, e.g. '?snapshot=0'")
    ap.add_argument("--timeout", type=float, default=sup.LIVE_TIMEOUT_S)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    proxy = sup.BlackholeProxy()
    servers = [sup.LocalServer(site.resolve(), "/") for site in args.sites]
    monitors = [sup.Monitor(allowed_ports={s.port}) for s in servers]

    def blocked(url: str) -> None:  # the proxy cannot tell which site's page asked
        for monitor in monitors:
            monitor.external_requests.append(url)

    proxy.on_hit = blocked
    print(f"load average at the start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    queries = (args.query if args.old_query is None else args.old_query, args.query)
    results: list[list[dict[str, float]]] = [[], []]
    try:
        with sync_playwright() as pw:
            browser = sup.launch_chromium(pw, proxy_port=proxy.port)

            def profile(i: int):
                context = browser.new_context(service_workers="allow")
                sup.instrument_context(context, monitors[i], intercept=False)
                return context

            contexts = [None, None]
            if not args.cold:
                for i in (0, 1):
                    contexts[i] = profile(i)
                    page, _ = bl._open_and_time(
                        contexts[i], servers[i].url + queries[i], monitors[i], args.timeout
                    )
                    bl._wait_for_sw_cache(page, args.sites[i])
                    page.close()
            for n in range(args.runs):
                for i in (0, 1) if n % 2 == 0 else (1, 0):
                    context = profile(i) if args.cold else contexts[i]
                    page, run = bl._open_and_time(
                        context, servers[i].url + queries[i], monitors[i], args.timeout
                    )
                    page.close()
                    if args.cold:
                        context.close()
                    results[i].append(
                        {**run.marks, ".cp-ready": run.ready_ms, "all views": run.complete_ms}
                    )
                    print(
                        f"  {'old' if i == 0 else 'new'} {n + 1}: {run.ready_ms / 1000:6.2f} s",
                        flush=True,
                    )
            browser.close()
    finally:
        for server in servers:
            server.stop()
        proxy.stop()

    if any(m.external_requests for m in monitors):
        print("EXTERNAL REQUESTS ATTEMPTED (blocked)")
    kind = "cold" if args.cold else "warm"
    print(f"\n== {kind} loads, median of {args.runs} each, ms since navigation ==")
    print(f"{'':<8}" + "".join(f"{m:>17}" for m in COLUMNS))
    medians = []
    for label, runs in zip(("old", "new"), results):
        row = [statistics.median(r.get(m, float("nan")) for r in runs) for m in COLUMNS]
        medians.append(row)
        print(f"{label:<8}" + "".join(f"{v:>17.0f}" for v in row))
    print(f"{'new-old':<8}" + "".join(f"{b - a:>+17.0f}" for a, b in zip(*medians)))
    print(f"{'new/old':<8}" + "".join(f"{b / a:>17.2f}" for a, b in zip(*medians)))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
