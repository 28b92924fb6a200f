"""Bytecode for the browser: .py compiled by the CPython inside Pyodide (precompile.mjs,
under Node.js), so the browser does not compile at start-up."""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from sitebuild.config import cache_dir, runtime_config, sha256_bytes, sha256_file
from sitebuild.node import run_node
from sitebuild.report import detail, log
from sitebuild.wheel import keep_all, rewrite_wheel

COMPILER = Path(__file__).with_name("precompile.mjs")
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
    recipe = sha256_bytes(
        (COMPILER.read_text() + cfg["pyodide"] + str(DEV_ONLY_SUFFIXES)).encode()
    )[:12]
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
        run_node(
            "precompile",
            [COMPILER, pyodide_dir, work],
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
                keep_all
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
