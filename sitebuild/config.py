"""Where things are, what is pinned: pyproject.toml, runtime.lock.json, the download cache."""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from pathlib import Path

from sitebuild.report import StepError

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
SITE = ROOT / "site"
SITE_SRC = ROOT / "site-src"
LOCK_PATH = ROOT / "runtime.lock.json"

# The Pyodide runtime, from the npm package; pyodide-lock.json is the trust root of the
# compiled wheels (docs/SITE.md).
CORE_FILES = [
    "pyodide.mjs",
    "pyodide.js",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
]


def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def runtime_config() -> dict:
    """The `[tool.cnn-playground.runtime]` table: every pinned browser-side version."""
    try:
        return pyproject()["tool"]["cnn-playground"]["runtime"]
    except KeyError as exc:
        raise StepError(
            "config",
            "pyproject.toml has no [tool.cnn-playground.runtime] table",
            "restore it from git (git checkout pyproject.toml)",
        ) from exc


def cache_dir() -> Path:
    """Where verified downloads are kept, outside the repo."""
    if os.environ.get("CNN_PLAYGROUND_CACHE"):
        return Path(os.environ["CNN_PLAYGROUND_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "cnn-playground"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(what: str, got: str, expected: str, fix: str) -> None:
    """Refuse a file whose sha256 is not the pinned one, naming it and both hashes."""
    if got != expected:
        raise StepError(
            "verify", f"sha256 mismatch for {what}: expected {expected}, got {got}", fix
        )


def load_runtime_lock() -> dict:
    if not LOCK_PATH.exists():
        raise StepError(
            "lock",
            f"{LOCK_PATH.name} is missing",
            "restore it from git, or run `python3 build.py lock` to pin fresh artefacts",
        )
    return json.loads(LOCK_PATH.read_text())


def browser_numpy_version() -> str:
    """The numpy version Pyodide runs in the browser, read from runtime.lock.json."""
    lock = load_runtime_lock()
    for entry in [*lock.get("artefacts", []), *lock.get("files", [])]:
        name = entry.get("filename", "")
        if name.startswith("numpy-") and name.endswith(".whl"):
            return name.split("-")[1]
    raise StepError(
        "lock",
        "runtime.lock.json names no numpy wheel",
        "re-pin the runtime with `python3 build.py lock`",
    )
