"""Fetch, verify, cache: every external artefact, checked against its pinned sha256."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from sitebuild.config import (
    cache_dir,
    load_runtime_lock,
    runtime_config,
    sha256_bytes,
    sha256_file,
    verify_sha256,
)
from sitebuild.report import StepError, detail
from sitebuild.venv import venv_python


def download(source: str, dest_dir: Path) -> Path:
    """Fetch `source` ("npm:pkg@ver" or "pypi:name==ver") into dest_dir; return the file."""
    kind, _, spec = source.partition(":")
    dest_dir.mkdir(parents=True, exist_ok=True)
    before = set(dest_dir.iterdir())
    if kind == "npm":
        npm = shutil.which("npm")
        if not npm:
            raise StepError(
                "fetch",
                f"npm is needed to fetch {spec} from the npm registry",
                "install Node.js and npm (Debian: apt-get install npm), or put the verified "
                f"file into the cache {cache_dir() / 'downloads'}",
            )
        cmd = [npm, "pack", spec, "--silent", "--pack-destination", str(dest_dir)]
    elif kind == "pypi":
        python = venv_python() if venv_python().exists() else Path(sys.executable)
        cmd = [
            str(python),
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            runtime_config()["python"],
            "--implementation",
            "cp",
            # fixed, so the same file is chosen on any host (only PyYAML/MarkupSafe have
            # no pure wheel; their native parts are dropped for the browser)
            "--platform",
            "manylinux2014_x86_64",
            "--platform",
            "any",
            "--dest",
            str(dest_dir),
            spec,
        ]
    else:
        raise StepError("fetch", f"unknown source kind in {source!r}", "fix runtime.lock.json")
    detail(f"downloading {spec} ({kind})")
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    new = [p for p in dest_dir.iterdir() if p not in before]
    if result.returncode != 0 or len(new) != 1:
        raise StepError(
            "fetch",
            f"could not download {spec}: {(result.stderr or result.stdout).strip()[-800:]}",
            "check the network access to the registry and re-run",
        )
    return new[0]


def fetch(entry: dict) -> Path:
    """Return the cached, sha256-verified file of a runtime.lock.json artefact entry."""
    cached = cache_dir() / "downloads" / entry["filename"]
    if cached.exists():
        if sha256_file(cached) == entry["sha256"]:
            return cached
        detail(f"cached {cached.name} does not match its pinned sha256; downloading again")
        cached.unlink()
    with tempfile.TemporaryDirectory(prefix="cnn-playground-dl-") as tmp:
        path = download(entry["source"], Path(tmp))
        if path.name != entry["filename"]:
            raise StepError(
                "fetch",
                f"{entry['source']} gave {path.name}, expected {entry['filename']}",
                "the registry changed the artefact; re-pin with `python3 build.py lock`",
            )
        verify_sha256(
            entry["filename"],
            sha256_file(path),
            entry["sha256"],
            "do not use this file; if the upgrade is intended, re-pin with "
            "`python3 build.py lock` and review the diff of runtime.lock.json",
        )
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), cached)
    return cached


def pinned_test_artefact(source_prefix: str) -> Path:
    """The cached, verified file of the runtime.lock.json test artefact (a tool the tests
    use, never shipped) whose source starts with `source_prefix`, e.g. "npm:axe-core@"."""
    entries = [
        e
        for e in load_runtime_lock().get("test-artefacts", [])
        if e["source"].startswith(source_prefix)
    ]
    if len(entries) != 1:
        raise StepError(
            "fetch",
            f"runtime.lock.json pins {len(entries)} test artefacts from {source_prefix!r}",
            "list it under test-artefacts in pyproject.toml and run `python3 build.py lock`",
        )
    return fetch(entries[0])


def read_member(archive: Path, member: str) -> bytes:
    """Read one file out of a .tgz or a .whl/.zip archive."""
    if archive.name.endswith((".tgz", ".tar.gz")):
        with tarfile.open(archive) as tar:
            f = tar.extractfile(member)
            if f is None:
                raise KeyError(member)
            return f.read()
    with zipfile.ZipFile(archive) as zf:
        return zf.read(member)


def verified_member(entry: dict, archives: dict[str, Path]) -> bytes:
    """The bytes of a runtime.lock.json `files` entry, taken from its archive and verified."""
    archive_name, _, member = entry["source"].partition("!")
    data = read_member(archives[archive_name], member)
    verify_sha256(
        f"{entry['filename']} (from {archive_name})",
        sha256_bytes(data),
        entry["sha256"],
        "the cached archive is not the pinned one; run `python3 build.py clean --all`",
    )
    return data
