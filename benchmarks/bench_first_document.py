"""CPU time of building the app's first document, under CPython, with the site's patches.

What the page's worker does in its "app" phase (site-src/worker.js, after the memory snapshot
restored Python with the app's modules imported): Panel's `init_doc()`, playground/app.py,
and the document's JSON (`write_doc()`'s `_doc_json`). Here the same steps run under CPython
with the pinned Panel/Bokeh from .venv, copied and patched the way the build patches their
wheels (sitebuild/patch.py, sitebuild/wheel.py), each run in a fresh process with the app's
modules imported before the clock starts (as in the snapshot). `IN_BROWSER` is set and the
loader's page address passed, so the app takes the browser's paths.

    # the patches in sitebuild/patches/ vs other patch folders (e.g. main's), interleaved
    PYTHONPATH=. .venv/bin/python benchmarks/bench_first_document.py --runs 5 \\
        --against /tmp/main-patches --against none
    # where the time goes (cProfile of one build, patched)
    PYTHONPATH=. .venv/bin/python benchmarks/bench_first_document.py --profile 30

Prints each variant's median CPU time (seconds) and its ratio to the first.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sitebuild.patch import PATCH_DIR, all_patches, patched_texts
from sitebuild.snapshot import app_imports

PACKAGES = ("bokeh", "panel")

# The page's address as loader.js passes it (JSON of window.location, no saved lesson).
PAGE = {
    "href": "http://localhost:8000/",
    "origin": "http://localhost:8000",
    "protocol": "http:",
    "host": "localhost:8000",
    "hostname": "localhost",
    "port": "8000",
    "pathname": "/",
    "search": "",
    "hash": "",
    "cpStorage": {},
}

# Runs in a fresh process: argv[1] the folder with the patched packages, argv[2] "time",
# "json" (the document itself) or the number of profile lines. Prints the CPU seconds, the
# document's JSON or (to stderr) the profile.
CHILD = r"""
import gc, json, sys, time
sys.path.insert(0, sys.argv[1])
import importlib
imports = json.loads(sys.argv[3])
for name in imports:
    importlib.import_module(name)
import playground.runtime
playground.runtime.IN_BROWSER = True
from bokeh.document import Document
from bokeh.embed.util import standalone_docs_json_and_render_items
from bokeh.io.doc import set_curdoc
from bokeh.settings import settings as bk_settings
from panel.io.document import MockSessionContext
from panel.io.state import state
for name in ("bokeh", "panel"):
    assert sys.modules[name].__file__.startswith(sys.argv[1]), sys.modules[name].__file__
gc.collect()
gc.freeze()
source = compile(open(sys.argv[4]).read(), sys.argv[4], "exec")


def build():
    # panel.io.pyodide.init_doc()
    bk_settings.simple_ids.set_value(False)
    doc = Document()
    set_curdoc(doc)
    doc.hold()
    doc._session_context = lambda: MockSessionContext(document=doc)
    state.curdoc = doc
    exec(source, {"__name__": "__main__"})
    # panel.io.pyodide.write_doc() -> _doc_json()
    docs_json, render_items = standalone_docs_json_and_render_items(
        doc.roots, suppress_callback_warning=True
    )
    out = json.dumps(docs_json), json.dumps([item.to_json() for item in render_items])
    doc._session_context = None
    return out


gc.disable()  # as the worker does while the app starts
if sys.argv[2] == "time":
    start = time.process_time()
    docs_json, _ = build()
    print(json.dumps({"cpu": time.process_time() - start, "size": len(docs_json)}))
elif sys.argv[2] == "json":
    docs_json, render_items = build()
    print(json.dumps({"docs_json": docs_json, "render_items": render_items}))
else:
    import cProfile, pstats
    profile = cProfile.Profile()
    profile.enable()
    build()
    profile.disable()
    stats = pstats.Stats(profile, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(int(sys.argv[2]))
    stats.sort_stats("tottime").print_stats(int(sys.argv[2]))
"""


def installed(package: str) -> Path:
    return Path(importlib.util.find_spec(package).submodule_search_locations[0])


def patched_packages(patch_dir: Path | None, dest: Path) -> Path:
    """Copies of .venv's Bokeh and Panel in dest, with the patches of patch_dir applied
    (None: unpatched) in the build's order."""
    for package in PACKAGES:
        shutil.copytree(installed(package), dest / package, ignore=shutil.ignore_patterns("dist"))
    if patch_dir is not None:
        ours = [p for p in all_patches(patch_dir) if p.target.split("/")[0] in PACKAGES]
        for target, text in patched_texts(ours, lambda t: (dest / t).read_text()).items():
            (dest / target).write_text(text)
    return dest


def run(packages: Path, what: str) -> dict | None:
    """Build the first document in a fresh process with Bokeh and Panel from `packages`:
    `what` is "time", "json" or the number of profile lines to print."""
    app = ROOT / "playground" / "app.py"
    imports = [m for m in app_imports(app) if m != "panel.io.pyodide"] + ["panel.io.document"]
    env = dict(os.environ, CNN_PLAYGROUND_PAGE=json.dumps(PAGE), PYTHONPATH=str(ROOT))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    res = subprocess.run(
        [sys.executable, "-c", CHILD, str(packages), what, json.dumps(imports), str(app)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=ROOT,
    )
    if res.returncode != 0:
        sys.exit(f"the first document failed to build:\n{res.stderr[-3000:]}")
    if what not in ("time", "json"):
        print(res.stderr)
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--against",
        action="append",
        default=[],
        help="another patch folder to time alongside ('none': no patches)",
    )
    parser.add_argument("--profile", type=int, metavar="LINES", help="print a cProfile instead")
    args = parser.parse_args()
    variants = {"sitebuild/patches": PATCH_DIR}
    for other in args.against:
        variants[other] = None if other == "none" else Path(other)
    with tempfile.TemporaryDirectory(prefix="bench-first-doc-") as tmp:
        folders = {
            name: patched_packages(patch_dir, Path(tmp) / str(i))
            for i, (name, patch_dir) in enumerate(variants.items())
        }
        if args.profile:
            run(folders["sitebuild/patches"], str(args.profile))
            return
        for folder in folders.values():  # compile each copy's .pyc once, outside the timing
            run(folder, "time")
        times: dict[str, list[float]] = {name: [] for name in variants}
        sizes = {}
        for _ in range(args.runs):
            for name, folder in folders.items():
                out = run(folder, "time")
                times[name].append(out["cpu"])
                sizes[name] = out["size"]
    load = os.getloadavg()
    print(
        f"first document, CPU s, median of {args.runs} interleaved processes "
        f"(load average {load[0]:.2f} now)"
    )
    first = statistics.median(next(iter(times.values())))
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"  {name:<28} {median:.3f}  ({min(values):.3f}-{max(values):.3f})  "
            f"{median / first:.2f}x  document {sizes[name] / 1e3:.0f} kB"
        )


if __name__ == "__main__":
    main()
