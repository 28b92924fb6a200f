"""Assemble site/: every step of docs/SITE.md "How it is assembled", in order.

One build of a checkout at a time (a file lock); the site is staged in build/ and swapped
into place by renames, so a server using the old site never sees a half-built one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from sitebuild import kernels
from sitebuild.archive import build_images, precompress
from sitebuild.config import (
    CORE_FILES,
    LOCK_PATH,
    ROOT,
    SITE,
    SITE_SRC,
    cache_dir,
    load_runtime_lock,
    runtime_config,
    sha256_file,
)
from sitebuild.fetch import fetch, verified_member
from sitebuild.packages import build_project_wheel, build_wheels, wheel_entry
from sitebuild.page import (
    check_no_external_urls,
    convert_app,
    copy_static,
    fill_template,
    make_loader,
    make_page,
    make_worker,
)
from sitebuild.precompile import precompile
from sitebuild.report import StepError, detail, log
from sitebuild.snapshot import make_snapshot
from sitebuild.venv import BUILD_GROUPS, ensure_venv

# What the site is built from (besides pyproject.toml and runtime.lock.json).
INPUT_FOLDERS = ("pycnn", "playground", "site-src", "sitebuild")


def input_fingerprint() -> str:
    """Hash of everything the site is built from; site/build-info.json records it."""
    digest = hashlib.sha256()
    paths = [ROOT / "build.py", ROOT / "pyproject.toml", LOCK_PATH]
    for folder in INPUT_FOLDERS:
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


def ensure_site() -> None:
    """Build site/ unless it is current."""
    if site_is_current():
        log("site/ is up to date")
        return
    build(SITE, unless_current=True)


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


def build(out: Path = SITE, unless_current: bool = False) -> None:
    """Build into `out` in a fresh work dir, one build of this checkout at a time;
    `unless_current`: skip it if site/ turns out current once the lock is ours."""
    with build_lock():
        if unless_current and site_is_current():  # built by whoever held the lock
            log("site/ is up to date")
            return
        work = Path(tempfile.mkdtemp(prefix="site-work-", dir=ROOT / "build"))
        try:
            _build(out, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _build(out: Path, work: Path) -> None:
    t0 = time.time()
    cfg = runtime_config()
    python = ensure_venv(BUILD_GROUPS)
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
    wheels = {p: pyo / packages[p]["file_name"] for p in order}
    image, later_image = build_images(wheels, cfg.get("after-live", []), pyo)
    for whl in wheels.values():
        whl.unlink()
    for built in (image, later_image):
        if built:
            detail(
                f"{built['file']}: {built['files']} files, {built['size'] / 1e6:.1f} MB "
                f"({built['unpackedBytes'] / 1e6:.1f} MB unpacked)"
            )
    # Pyodide reads a lock file at boot; nothing is installed through it (no loadPackage).
    (pyo / "pyodide-lock.json").write_text(
        json.dumps({"info": official["info"], "packages": {}}, indent=1)
    )
    snapshot = make_snapshot(pyo, site_packages, cfg.get("lazy-imports", []))

    html, panel_js = convert_app(work)
    html = copy_static(html, archives, lock, stage)
    # The large downloads the loading screen counts (Pyodide fetches the first two, unpack.js
    # the others; the scripts Pyodide loads with importScripts are small and not counted).
    sizes = {
        name: (pyo / name).stat().st_size for name in ("pyodide.asm.wasm", "python_stdlib.zip")
    }
    for unpacked in (image, snapshot):
        if unpacked:
            sizes[unpacked["file"]] = unpacked["size"]
    lazy = [{"path": site_packages + member, "url": f"data/{p.name}"} for p, member in datasets]
    kernels = build_kernels_step(stage)
    worker_cfg = {
        "pyodide": cfg["pyodide"],
        "sizes": sizes,
        "image": image,
        "laterImage": later_image,
        "sitePackages": site_packages,
        "packages": order,
        "lazyFiles": lazy,
        "lazyImports": cfg.get("lazy-imports", []),
        "kernels": kernels,
        "snapshot": snapshot,
    }
    (stage / "app.js").write_text(make_worker(panel_js, worker_cfg))
    (stage / "loader.js").write_text(make_loader(worker_cfg))
    (stage / "index.html").write_text(make_page(html, cfg))

    log("Adding hand-written files from site-src/")
    for src in SITE_SRC.iterdir():
        if (
            src.name
            in ("worker.js", "loader.js", "loader.html", "sw.js", "lazy_imports.py", "__pycache__")
            or src.name[0] == "."
        ):
            continue
        shutil.copyfile(src, stage / src.name)

    files = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
    version = write_service_worker(stage, files)
    check_no_external_urls(stage)
    gz_saved = precompress(stage, files)
    detail(f"gzip twins for the local server: {gz_saved / 1e6:.1f} MB less on the wire")
    total = sum((stage / f).stat().st_size for f in files)
    runtime_files = {f"pyodide/{n}" for n in [*CORE_FILES, image["file"], *sizes]}
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
    swap_into_place(stage, out)
    log(
        f"Built {out.name}/ in {time.time() - t0:.0f} s: {len(files) + 2} files, {total / 1e6:.1f} MB"
    )


def build_kernels_step(stage: Path) -> list[dict]:
    """pycnn's WebAssembly kernel: compiled (or taken from the cache), checked, put in kernels/."""
    sources = ", ".join(str(source.relative_to(ROOT)) for source in kernels.SOURCES)
    log(f"Building pycnn's WebAssembly kernel from {sources} (compiled once, then cached)")
    try:
        entries = kernels.site_step(stage)
    except kernels.KernelBuildError as exc:
        raise StepError("kernels", str(exc), "see sitebuild/kernels.py") from exc
    detail(", ".join(e["file"] for e in entries) + ": sha256 as pinned")
    return entries


def write_service_worker(stage: Path, files: list[str]) -> str:
    """Write sw.js: it precaches every file except itself and the on-demand datasets, and
    its cache name (the build's version, returned) changes whenever any file changes."""
    precache = [f for f in files if not f.startswith("data/")]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.encode() + b"\0" + sha256_file(stage / f).encode())
    version = digest.hexdigest()[:16]
    (stage / "sw.js").write_text(
        fill_template(
            (SITE_SRC / "sw.js").read_text(),
            {
                "CP_VERSION": json.dumps(version),
                "CP_PRECACHE": json.dumps(["./", *precache], indent=0),
                "CP_LATER": json.dumps([f for f in files if f.startswith("data/")]),
            },
        )
    )
    return version


def swap_into_place(stage: Path, out: Path) -> None:
    """Swap by renames: a server (or test) using the old site sees files vanish for
    microseconds instead of for the whole delete."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        os.replace(out, old)
    try:
        os.replace(stage, out)
    except OSError:  # another file system (--out elsewhere)
        shutil.move(str(stage), out)
    shutil.rmtree(old, ignore_errors=True)
