#!/usr/bin/env python3
"""pycnn training speed *in the browser* next to native pycnn and ConvNetJS, plus the app's
summary update latency. Prints figures; not a test.

    .venv/bin/python benchmarks/bench_browser.py                 # everything, a few minutes
    .venv/bin/python benchmarks/bench_browser.py --rounds 3 --edits 5 --no-app    # quicker

Needs the project's venv (``.venv/``, made by ``python3 build.py test`` or ``bench-load``:
Playwright, numpy, and the project importable), Chromium (found like the e2e tests do:
``$CNN_PLAYGROUND_CHROMIUM``, ``chromium`` on PATH, or Playwright's own) and ``npm``.

What runs, all in one headless Chromium, in one run:

1. **pycnn in the browser**: a benchmark page (``benchmarks/browser/``, not part of
   the shipped site) starts a Web Worker that loads Pyodide *from the built site's
   files* (``site/pyodide/``), numpy from the site's wheel and pycnn from the site's
   project wheel (``--source``: from the repository's ``pycnn/`` instead), pycnn's
   WebAssembly matrix-product kernel from ``site/kernels/`` as the site's worker does
   (``--kernel``: which build, or ``numpy`` for none), and times
   the training steps of ``benchmarks/browser/pycnn_steps.py``:
   the Keras "Simple MNIST convnet" (Conv2D(32,3)-MaxPool(2)-Conv2D(64,3)-MaxPool(2)-
   Flatten-Dropout(0.5)-Dense(10,softmax)) on MNIST 28x28 at batch 32 and 128, and
   the starter model Conv2D(8,3)-MaxPool(2)-Flatten-Dense(10,softmax) as whole
   one-epoch ``fit`` calls on the ``digits`` training images at batch 32.
2. **native pycnn**: the same module, the same pycnn (extracted from the site's wheel,
   or the repository's with ``--source``) on this desktop CPython, in this process.
3. **ConvNetJS** (npm ``convnetjs@0.3.0``, installed into
   ``benchmarks/browser/node_modules/``, git-ignored) in a second Web Worker of the same
   page, same architectures, its ``sgd`` trainer with momentum 0.9, lr 0.01, batch 32
   (pycnn uses SGD(0.01, momentum=0.9) too: the same update rule).
4. **summary update latency in the real app**: the built site served with
   ``sitebuild.server.make_server``; once ``.cp-ready`` is live, the Conv2D ``filters`` select
   (``.cp-arg-filters``) is changed in the page and the time until the summary's
   ``.cp-total-params`` shows the new count is taken in the page (median of ``--edits``).

The three trainers are interleaved round by round (the machine's cores are shared),
each round's figure is the median of its steps, and every ratio is taken within a
round; the table shows medians over rounds. The last lines give pycnn's browser/native
ratio for each model by CPU time and by wall clock (goal: >= 0.4 by CPU time). Every request that leaves localhost is
blocked (Playwright routing + a refusing proxy, as in tests/e2e) and reported.

The site is built with ``python3 build.py build`` when ``site/`` has none; it is
copied to a scratch folder first, so a rebuild by someone else during the run does
not pull files from under the browser.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PAGE_DIR = HERE / "browser"
CONVNETJS = "convnetjs@0.3.0"
CONVNETJS_JS = PAGE_DIR / "node_modules" / "convnetjs" / "build" / "convnet.js"
MNIST_IMAGES = 2048  # MNIST training images handed to both trainers (batches cycle through them)
PACKAGE_ARCHIVE = "site-packages.tar.gz"  # every package the site runs (sitebuild.archive)

from sitebuild.assemble import site_is_current
from tests.e2e import e2e_support as sup

# (task, batch) -> steps per round for each side. One "step" is one timed call.
TASKS = [
    {
        "key": "keras32",
        "task": "keras",
        "batch": 32,
        "steps": {"pycnn": 3, "convnetjs": 1, "native": 10},
    },
    {"key": "keras128", "task": "keras", "batch": 128, "steps": {"pycnn": 2, "native": 5}},
    {
        "key": "starter",
        "task": "starter_epoch",
        "batch": 32,
        "steps": {"pycnn": 5, "convnetjs": 2, "native": 5},
    },
    {
        "key": "mnist_default",
        "task": "keras",
        "model": "mnist_default",
        "batch": 32,
        "steps": {"pycnn": 12, "convnetjs": 4, "native": 20},
    },
]
SIDES = ("pycnn", "convnetjs", "native")

# Filters values for the summary-latency edits (the starter's Conv2D starts at 8);
# every edit changes the parameter count.
EDIT_FILTERS = ["16", "8", "32", "12", "24", "6", "48", "8", "16", "4", "32", "8"]

EDIT_JS = r"""
async ({value, timeoutMs}) => {
  const deep = (root, sel, out = []) => {
    out.push(...root.querySelectorAll(sel));
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) deep(el.shadowRoot, sel, out);
    return out;
  };
  const host = deep(document, ".cp-block-conv2d .cp-arg-filters, .cp-arg-filters")
    .find((h) => h.shadowRoot && h.shadowRoot.querySelector("select"));
  if (!host) return {error: "no .cp-arg-filters select in the page"};
  const select = host.shadowRoot.querySelector("select");
  const summary = deep(document, ".cp-summary").find((h) => h.shadowRoot);
  if (!summary) return {error: "no .cp-summary in the page"};
  const root = summary.shadowRoot;
  const total = () => {
    const el = root.querySelector(".cp-total-params");
    return el ? el.textContent : null;
  };
  const before = total();
  if (select.value === value) return {error: `filters is already ${value}`};
  return await new Promise((resolve) => {
    let t0 = 0, tDom = null;
    const finish = (ok) => {
      observer.disconnect();
      clearTimeout(timer);
      const after = total();
      if (!ok) { resolve({ok, before, after, dom_ms: null, frame_ms: null}); return; }
      // the next animation frame after the DOM change: when the browser can paint it
      requestAnimationFrame(() => resolve({ok, before, after, dom_ms: tDom - t0,
                                           frame_ms: performance.now() - t0}));
    };
    const observer = new MutationObserver(() => {
      const now = total();
      if (tDom === null && now !== null && now !== before) { tDom = performance.now(); finish(true); }
    });
    observer.observe(root, {subtree: true, childList: true, characterData: true});
    const timer = setTimeout(() => finish(false), timeoutMs);
    t0 = performance.now();
    select.value = value;
    select.dispatchEvent(new Event("input", {bubbles: true}));
    select.dispatchEvent(new Event("change", {bubbles: true}));
  });
}
"""


# --------------------------------------------------------------------------- preparation


def log(msg: str) -> None:
    print(msg, flush=True)


def ensure_site(site_arg: Path | None) -> Path:
    """The built site: --site, else the repo's site/ (built when it has no index.html)."""
    if site_arg:
        site = site_arg.resolve()
    else:
        site = REPO / "site"
        for attempt in range(3):
            if (site / "index.html").is_file():
                break
            log(f"no built site in {site}: running python3 build.py build (attempt {attempt + 1})")
            subprocess.run(["python3", str(REPO / "build.py"), "build"], cwd=REPO, check=False)
    if not (site / "index.html").is_file():
        sys.exit(f"no built site at {site} (python3 build.py build failed?)")
    return site


def copy_site(site: Path, dest: Path) -> Path:
    """Copy the site (retry: another engineer's rebuild may swap site/ while we copy)."""
    for attempt in range(5):
        shutil.rmtree(dest, ignore_errors=True)
        try:
            shutil.copytree(site, dest)
            if (dest / "index.html").is_file() and (dest / "pyodide" / PACKAGE_ARCHIVE).is_file():
                return dest
        except (shutil.Error, OSError) as exc:
            log(f"copying {site} failed ({exc}); retrying")
        time.sleep(5 + 5 * attempt)
    sys.exit(f"could not copy a complete site from {site}")


def ensure_convnetjs() -> Path:
    if not CONVNETJS_JS.is_file():
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is needed to install convnetjs@0.3.0 (the reference trainer)")
        log(f"installing {CONVNETJS} into {PAGE_DIR / 'node_modules'} (npm)")
        subprocess.run(
            [
                npm,
                "install",
                "--no-save",
                "--no-package-lock",
                "--prefix",
                str(PAGE_DIR),
                CONVNETJS,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    version = json.loads((CONVNETJS_JS.parents[1] / "package.json").read_text())["version"]
    if version != CONVNETJS.split("@")[1]:
        sys.exit(f"{CONVNETJS_JS.parents[1]} holds convnetjs {version}, need {CONVNETJS}")
    return CONVNETJS_JS


DATA_SCRIPT = r"""
import sys
import numpy as np
from pycnn import datasets
out, n = sys.argv[1], int(sys.argv[2])
(x, y), _, _ = datasets.load("mnist")
x[:n].astype("<f4").tofile(f"{out}/mnist-x.f32"); y[:n].astype("<i4").tofile(f"{out}/mnist-y.i32")
(x, y), _, _ = datasets.load("digits")
x.astype("<f4").tofile(f"{out}/digits-x.f32"); y.astype("<i4").tofile(f"{out}/digits-y.i32")
import json
(x, _), _, _ = datasets.load("mnist")
open(f"{out}/meta.json", "w").write(json.dumps({"mnist_train": int(x.shape[0])}))
"""


def write_data(out: Path) -> None:
    """Raw float32/int32 files both trainers read (from the repository's shipped subsets)."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-c", DATA_SCRIPT, str(out), str(MNIST_IMAGES)], cwd=REPO, check=True
    )


def native_pycnn(site: Path, scratch: Path, source: bool) -> Path:
    """A folder holding the pycnn the browser runs: the site's, or the repository's."""
    if source:
        return REPO
    dest = scratch / "native"
    with tarfile.open(site / "pyodide" / PACKAGE_ARCHIVE) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("pycnn/")]
        tar.extractall(dest, members, filter="data")
    return dest


def site_kernels(site_copy: Path) -> list[dict]:
    """The site's kernel builds as its worker's configuration lists them (CP.kernels)."""
    from sitebuild import kernels

    out = []
    for file, spec in kernels.BUILDS.items():
        path = site_copy / kernels.SITE_FOLDER / file
        if path.is_file():
            out.append(
                {
                    "feature": spec["feature"],
                    "name": spec["name"],
                    "file": f"{kernels.SITE_FOLDER}/{file}",
                    "sha256": kernels.sha256_file(path),
                }
            )
    return out


def source_zip(dest: Path) -> None:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted((REPO / "pycnn").rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                z.write(f, f.relative_to(REPO).as_posix())


def site_description(site: Path, site_copy: Path) -> str:
    """Which build of the site was measured, and whether it matches the sources."""
    try:
        build_info = json.loads((site_copy / "build-info.json").read_text())
        text = f"{site}, build {build_info.get('version', '?')}"
    except (OSError, ValueError):
        text = f"{site}, no build-info.json"
    if site == REPO / "site":
        try:
            text += (
                " (current with the sources)"
                if site_is_current()
                else " (OLDER than the sources: `python3 build.py build` to refresh)"
            )
        except Exception as exc:  # noqa: BLE001
            text += f" (freshness unknown: {exc})"
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        text += f"; repository HEAD {head}"
    except OSError:
        pass
    return text


# --------------------------------------------------------------------------- measuring


class Native:
    """pycnn_steps in this process (same code as in the worker)."""

    def __init__(self, pycnn_root: Path, data_dir: Path) -> None:
        # The pycnn measured is the one the site ships (unpacked from its archive), ahead of
        # the checkout's; pycnn_steps is the module the browser's worker runs too.
        sys.path.insert(0, str(PAGE_DIR))
        sys.path.insert(0, str(pycnn_root))
        import pycnn_steps

        self.steps = pycnn_steps
        self.info = json.loads(pycnn_steps.setup(str(data_dir)))

    def run(self, task: dict) -> dict:
        return json.loads(self.steps.run(json.dumps(task)))


def call(page, worker: str, cmd: str, arg) -> dict:
    return page.evaluate("([w, c, a]) => window.benchCall(w, c, a)", [worker, cmd, arg])


def task_arg(t: dict, side: str) -> dict:
    n = t["steps"][side]
    return {
        "task": t["task"],
        "batch": t["batch"],
        "model": t.get("model", "keras"),
        ("epochs" if t["task"] == "starter_epoch" else "steps"): n,
    }


class RendererClock:
    """CPU seconds used by this run's Chromium renderer processes (Linux /proc).

    The benchmark page's Web Workers are threads of its renderer process; while one
    of them trains, the page's other threads idle, so the renderer's CPU time over a
    call is the trainer's (its garbage collector's helper threads included). Wall
    time on a shared machine counts time spent waiting for a core; this does not.
    """

    def __init__(self) -> None:
        self.tick = os.sysconf("SC_CLK_TCK")
        self.pids = self._renderers()

    @staticmethod
    def _renderers() -> list[int]:
        parent = {}
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    stat = (d / "stat").read_text()
                    parent[int(d.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
                except (OSError, ValueError):
                    pass
        mine, todo = set(), [os.getpid()]
        while todo:
            pid = todo.pop()
            kids = [c for c, pp in parent.items() if pp == pid and c not in mine]
            mine.update(kids)
            todo += kids
        out = []
        for pid in mine:
            try:
                if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    out.append(pid)
            except OSError:
                pass
        return out

    def __call__(self) -> float:
        """Nanosecond-resolution run time of every thread (schedstat), else clock ticks."""
        ns = 0
        ticks = 0
        for pid in self.pids:
            try:
                for task in Path(f"/proc/{pid}/task").iterdir():
                    ns += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text()
                    fields = fields[fields.rindex(")") + 2 :].split()
                    ticks += int(fields[11]) + int(fields[12])  # utime + stime
                except (OSError, ValueError):
                    pass
        return ns / 1e9 + ticks / self.tick


def measure_training(page, native: Native, rounds: int) -> dict:
    """{"wall"|"cpu": {(key, side): [samples/s per round]}}, the three sides interleaved.

    wall: samples / median wall time of one step (timed inside each trainer).
    cpu: samples x steps / CPU seconds of the whole call (the renderer processes'
    for the browser sides, this thread's for native; None without /proc).
    """
    try:
        renderer_cpu = RendererClock()
        if not renderer_cpu.pids:
            raise OSError("no renderer process found")
    except OSError as exc:
        log(f"no CPU-time figures for the browser ({exc})")
        renderer_cpu = None

    def run(side, t):
        clock = time.thread_time if side == "native" else renderer_cpu
        c0 = clock() if clock else 0.0
        if side == "native":
            res = native.run(task_arg(t, side))
        else:
            res = call(page, side, "run", task_arg(t, side))
        res["cpu"] = clock() - c0 if clock else None
        return res

    # warm-up: each side runs each task once, uncounted
    for t in TASKS:
        for side in t["steps"]:
            run(side, t)
    out: dict = {"wall": {}, "cpu": {}}
    for r in range(rounds):
        t_round = time.monotonic()
        for t in TASKS:
            order = [s for s in SIDES if s in t["steps"]]
            if r % 2:
                order.reverse()
            for side in order:
                res = run(side, t)
                key = (t["key"], side)
                out["wall"].setdefault(key, []).append(
                    res["samples"] / statistics.median(res["times"])
                )
                if res["cpu"]:
                    out["cpu"].setdefault(key, []).append(
                        res["samples"] * len(res["times"]) / res["cpu"]
                    )
        log(
            f"  round {r + 1}/{rounds}: {time.monotonic() - t_round:5.1f} s  "
            + "  ".join(f"{k}/{s[:2]} {v[-1]:.0f}" for (k, s), v in out["wall"].items())
        )
    return out


def measure_app(browser, monitor, site: Path, edits: int, live_timeout: float) -> dict:
    """Summary update latency after a Conv2D filters edit in the real app."""
    server = sup.LocalServer(site, "/")
    monitor.allowed_ports.add(server.port)
    context = browser.new_context()
    sup.instrument_context(context, monitor)
    try:
        page = context.new_page()
        t0 = time.monotonic()
        page.goto(server.url)
        sup.wait_until_live(page, monitor, timeout_s=live_timeout)
        live_s = time.monotonic() - t0
        page.wait_for_timeout(2000)  # let the dataset preview and the first renders settle
        results = []
        values = (EDIT_FILTERS * (1 + (edits + 1) // len(EDIT_FILTERS)))[: edits + 1]
        for i, value in enumerate(values):
            res = page.evaluate(EDIT_JS, {"value": value, "timeoutMs": 10000})
            if res.get("error") or not res.get("ok"):
                raise RuntimeError(f"edit filters -> {value}: {res}")
            res["value"] = int(value)
            if i > 0:  # the first edit is a warm-up
                results.append(res)
            else:
                first = res
            page.wait_for_timeout(700)
        return {"live_s": live_s, "edits": results, "first": first, "url": server.url}
    finally:
        context.close()
        server.stop()


# --------------------------------------------------------------------------- report


def med(values):
    return statistics.median(values) if values else float("nan")


def spread(values) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if values else "-"


ROWS = [
    ("keras32", "Keras MNIST convnet, MNIST 28x28", 32),
    ("keras128", "Keras MNIST convnet, MNIST 28x28", 128),
    ("starter", "starter model, digits 8x8 (epochs)", 32),
    ("mnist_default", "starter layers on MNIST 28x28", 32),
]


class Figures:
    """Medians over rounds and per-round ratios of one clock's samples/s."""

    def __init__(self, per_round: dict) -> None:
        self.per_round = per_round

    def sps(self, key, side):
        return med(self.per_round.get((key, side), []))

    def ratios(self, key, a, b, b_key=None):
        xs = self.per_round.get((key, a), [])
        ys = self.per_round.get((b_key or key, b), [])
        return [x / y for x, y in zip(xs, ys)]

    def table(self, title: str) -> None:
        print(f"\n{title}")
        head = (
            f"{'model / data':34s} {'batch':>5s} {'pycnn browser':>14s} {'native':>10s} "
            f"{'ConvNetJS':>10s} {'browser/ConvNetJS':>21s} {'browser/native':>15s}"
        )
        print(head)
        print("-" * len(head))
        for key, label, batch in ROWS:
            if not self.per_round.get((key, "pycnn")):
                continue
            r_cj = self.ratios(key, "pycnn", "convnetjs")
            star = ""
            if not r_cj and key == "keras128":  # ConvNetJS's cost per sample is batch-independent
                r_cj, star = self.ratios(key, "pycnn", "convnetjs", "keras32"), "*"
            cj = self.sps(key, "convnetjs")
            cj_txt = f"{'*':>10s}" if star else f"{cj:10.0f}"
            rc = f"{med(r_cj):.2f}x{star} ({spread(r_cj)})" if r_cj else "-"
            r_nat = self.ratios(key, "pycnn", "native")
            rn = f"{med(r_nat):.3f}x" if r_nat else "-"
            print(
                f"{label:34s} {batch:5d} {self.sps(key, 'pycnn'):14.0f} "
                f"{self.sps(key, 'native'):10.0f} {cj_txt} {rc:>21s} {rn:>15s}"
            )


def report(measured: dict, info: dict, app: dict | None, args) -> None:
    wall, cpu = Figures(measured["wall"]), Figures(measured["cpu"])
    py, cj, nat = info["pycnn"], info["convnetjs"], info["native"]
    print()
    print("=" * 100)
    print(
        f"Chromium {info['chromium']} (headless), {info['cpus']} CPUs shared with other work "
        f"(load average {info['load']} at the start, {info.get('load_end', '?')} at the end); "
        f"{args.rounds} interleaved rounds"
    )
    print(
        f"pycnn in the browser: Pyodide {info['pyodide']} from the site's files, "
        f"numpy {py['numpy']} ({'BLAS' if py['have_blas'] else 'no BLAS'}), "
        f"pycnn from {'repository source' if args.source else 'the site wheel'}, in a Web Worker, "
        f"kernels: {py.get('kernels', 'numpy')}; "
        f"worker ready in {py['load_ms']['total'] / 1000:.1f} s"
    )
    print(f"site: {info['site']}")
    print(
        f"native pycnn: CPython {nat['python']}, numpy {nat['numpy']} "
        f"({'BLAS' if nat['have_blas'] else 'no BLAS'}), BLAS threads: {info['native_threads']}"
    )
    print(
        f"ConvNetJS {CONVNETJS} in a Web Worker (sgd, momentum 0.9, lr 0.01, batch 32); "
        f"pycnn: SGD(0.01, momentum=0.9)"
    )
    print(f"parameters  pycnn: {py['params']}  ConvNetJS: {cj['params']}")
    wall.table(
        "WALL CLOCK -- samples/s = batch / median step time within a round; "
        "figures: median over rounds"
    )
    if measured["cpu"]:
        cpu.table(
            "CPU TIME -- samples/s per CPU second (browser: the renderer process; "
            "native: this thread); figures: median over rounds"
        )
    print(
        "ratios: median of the per-round ratios (range in parentheses); * = against ConvNetJS's "
        "batch-32 figure (it trains one sample per call, so its cost per sample does not "
        "depend on the batch size)"
    )

    n_digits = py["digits_images"]
    print(
        f"\nstarter model, one digits epoch ({n_digits} images, batch 32), wall clock: "
        + " | ".join(
            f"{name} {n_digits / wall.sps('starter', side):.2f} s"
            for side, name in (
                ("pycnn", "browser"),
                ("native", "native"),
                ("convnetjs", "ConvNetJS"),
            )
        )
        + "   (goal: browser <= 2 s)"
    )
    if measured["cpu"]:
        print(
            f"  per CPU second (one core to itself): browser {n_digits / cpu.sps('starter', 'pycnn'):.2f} s"
            f" | native {n_digits / cpu.sps('starter', 'native'):.2f} s"
            f" | ConvNetJS {n_digits / cpu.sps('starter', 'convnetjs'):.2f} s"
        )
    k32w = med(wall.ratios("keras32", "pycnn", "convnetjs"))
    k32c = med(cpu.ratios("keras32", "pycnn", "convnetjs"))
    print(
        f"Keras convnet at batch 32: pycnn in the browser = {k32w:.2f}x ConvNetJS by wall "
        f"clock, {k32c:.2f}x by CPU time (goal >= 5x)"
    )
    n_mnist = info["mnist_train"]
    print(
        f"one epoch of the shipped MNIST training subset ({n_mnist} images) in the browser, "
        f"from the wall-clock step rate: the app's default layers (starter layers on 28x28) "
        f"{n_mnist / wall.sps('mnist_default', 'pycnn'):.0f} s at batch 32 (goal: well under "
        f"30 s); the Keras convnet {n_mnist / wall.sps('keras128', 'pycnn'):.0f} s at batch "
        f"128, {n_mnist / wall.sps('keras32', 'pycnn'):.0f} s at batch 32"
    )
    if measured["cpu"]:
        print(
            f"  per CPU second (one core to itself): default layers "
            f"{n_mnist / cpu.sps('mnist_default', 'pycnn'):.0f} s, Keras convnet "
            f"{n_mnist / cpu.sps('keras128', 'pycnn'):.0f} s (batch 128), "
            f"{n_mnist / cpu.sps('keras32', 'pycnn'):.0f} s (batch 32); ConvNetJS would take "
            f"{n_mnist / cpu.sps('mnist_default', 'convnetjs'):.0f} s and "
            f"{n_mnist / cpu.sps('keras32', 'convnetjs'):.0f} s"
        )
    if app and app.get("error"):
        print(f"\nsummary update latency: NOT MEASURED, the app edit failed: {app['error'][:2000]}")
    elif app:
        dom = [e["dom_ms"] for e in app["edits"]]
        frame = [e["frame_ms"] for e in app["edits"]]
        print(
            f"\nsummary update latency in the app ({len(dom)} Conv2D filters edits; app live in "
            f"{app['live_s']:.1f} s): median {med(dom):.0f} ms until the summary shows the new "
            f"parameter count (range {min(dom):.0f}-{max(dom):.0f}), {med(frame):.0f} ms to the "
            f"next animation frame (goal <= 200 ms); first edit after load, not counted: "
            f"{app['first']['dom_ms']:.0f} ms"
        )
        print(
            "  edits (filters -> total params, ms): "
            + ", ".join(f"{e['value']}->{e['after']} {e['dom_ms']:.0f}" for e in app["edits"])
        )
    print(
        f"\npycnn browser/native, same run, both one core (browser kernels: "
        f"{py.get('kernels', 'numpy')}; goal >= 0.4 by CPU time), median of per-round ratios:"
    )
    for key, label, batch in ROWS:
        parts = []
        for name, figures in (("CPU time", cpu), ("wall clock", wall)):
            r = figures.ratios(key, "pycnn", "native")
            if r:
                parts.append(f"{name} {med(r):.2f}x ({spread(r)})")
        if parts:
            print(f"  {label}, batch {batch}: " + ", ".join(parts))
    ext = info.get("external", [])
    print(
        f"\nrequests leaving localhost: {len(ext)} (blocked)"
        + (": " + ", ".join(ext[:5]) if ext else "")
    )


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--site", type=Path, help="a built site (default: the repo's site/, built if missing)"
    )
    ap.add_argument(
        "--rounds", type=int, default=7, help="interleaved measuring rounds (default 7)"
    )
    ap.add_argument("--edits", type=int, default=9, help="counted summary edits (default 9)")
    ap.add_argument("--no-app", action="store_true", help="skip the summary latency in the app")
    ap.add_argument(
        "--source",
        action="store_true",
        help="pycnn from the repository's pycnn/ (both sides) instead of the site's package archive",
    )
    ap.add_argument(
        "--native-threads",
        type=int,
        default=1,
        help="BLAS threads for native numpy (default 1, like the browser's single "
        "worker thread and steady on a shared machine; 0 = numpy's default)",
    )
    ap.add_argument(
        "--kernel",
        choices=["auto", "relaxed", "simd", "numpy"],
        default="auto",
        help="pycnn's matrix products in the browser: the best WebAssembly build the browser "
        "runs (auto, as the site does), a given build, or numpy without a kernel",
    )
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    args = ap.parse_args(argv)

    if args.native_threads > 0:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.native_threads)

    site = ensure_site(args.site)
    convnetjs_js = ensure_convnetjs()
    scratch = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    try:
        return _run(args, site, convnetjs_js, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(args, site: Path, convnetjs_js: Path, scratch: Path) -> int:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit(
            "this benchmark needs Playwright for Python: run it with the project's venv "
            "(.venv/bin/python, made by `python3 build.py test`), see docs/BROWSER_BENCH.md"
        )

    log(f"site: {site} (copied to {scratch})")
    site_copy = copy_site(site, scratch / "root" / "site")
    root = scratch / "root"
    (root / "bench").symlink_to(PAGE_DIR)
    (root / "convnetjs").symlink_to(convnetjs_js.parent)
    data = root / "data"
    write_data(data)
    if args.source:
        source_zip(data / "pycnn-src.zip")
    native = Native(native_pycnn(site_copy, scratch, args.source), data)
    info = {
        "native": native.info,
        "cpus": os.cpu_count(),
        "native_threads": args.native_threads or "numpy default",
    }
    pyodide_version = json.loads((site_copy / "pyodide" / "pyodide-lock.json").read_text())
    info["pyodide"] = pyodide_version["info"]["version"]
    info["mnist_train"] = json.loads((data / "meta.json").read_text())["mnist_train"]
    info["site"] = site_description(site, site_copy)

    server = sup.LocalServer(root, "/")
    proxy = sup.BlackholeProxy()
    monitor = sup.Monitor(allowed_ports={server.port})
    proxy.on_hit = lambda url: monitor.external_requests.append(url)
    app = None
    try:
        with sync_playwright() as pw:
            browser = sup.launch_chromium(pw, proxy_port=proxy.port)
            info["chromium"] = browser.version
            context = browser.new_context()
            sup.instrument_context(context, monitor)
            page = context.new_page()
            page.goto(server.url + "bench/index.html")
            base = server.url
            t0 = time.monotonic()
            info["pycnn"] = call(
                page,
                "pycnn",
                "init",
                {
                    "pyodideBase": base + "site/pyodide/",
                    "siteBase": base + "site/",
                    "kernels": site_kernels(site_copy),
                    "kernel": args.kernel,
                    "dataBase": base + "data/",
                    "stepsUrl": base + "bench/pycnn_steps.py",
                    "sourceZip": base + "data/pycnn-src.zip" if args.source else None,
                },
            )
            log(
                f"pycnn worker ready in {time.monotonic() - t0:.1f} s "
                f"(Pyodide {info['pyodide']}, numpy {info['pycnn']['numpy']})"
            )
            info["convnetjs"] = call(
                page,
                "convnetjs",
                "init",
                {"libUrl": base + "convnetjs/convnet.js", "dataBase": base + "data/"},
            )
            for model, n in info["pycnn"]["params"].items():
                if info["convnetjs"]["params"][model] != n:
                    log(
                        f"WARNING: {model}: ConvNetJS has {info['convnetjs']['params'][model]} "
                        f"parameters, pycnn {n}"
                    )
            log(f"measuring: {args.rounds} rounds of pycnn-in-browser / ConvNetJS / native")
            info["load"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
            measured = measure_training(page, native, args.rounds)
            info["load_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
            context.close()
            if not args.no_app:
                log("summary latency: opening the app")
                try:
                    app = measure_app(browser, monitor, site_copy, args.edits, sup.LIVE_TIMEOUT_S)
                except Exception as exc:  # noqa: BLE001 - keep the training figures
                    app = {"error": f"{type(exc).__name__}: {exc}"}
            browser.close()
    finally:
        server.stop()
        proxy.stop()
    info["external"] = list(monitor.external_requests) + list(proxy.hits)
    problems = monitor.problems(external=False)
    if problems:
        log("page problems seen:\n  " + "\n  ".join(problems[:10]))
    report(measured, info, app, args)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "info": info,
                    "app": app,
                    "per_round": {
                        clock: {f"{k}/{s}": v for (k, s), v in figures.items()}
                        for clock, figures in measured.items()
                    },
                },
                indent=1,
            )
        )
    return 1 if info["external"] else 0


if __name__ == "__main__":
    sys.exit(main())
