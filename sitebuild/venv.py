"""The venvs the build runs its tools in (`.venv/` and the test venv of the browser's numpy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sitebuild.config import ROOT, VENV, pyproject, sha256_bytes
from sitebuild.report import StepError, detail, log

# The groups of pyproject.toml's optional dependencies each command needs in .venv.
BUILD_GROUPS = ["app", "build"]
TEST_GROUPS = [*BUILD_GROUPS, "test"]


def venv_python(venv: Path = VENV) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def venv_bin(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def requirements(groups: list[str]) -> list[str]:
    project = pyproject()["project"]
    reqs = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for group in groups:
        reqs += optional.get(group, [])
    return sorted(set(reqs))


def ensure_venv(groups: list[str], venv: Path = VENV, reqs: list[str] | None = None) -> Path:
    """Create/update a venv (default .venv) with the pinned host requirements of `groups`
    (or exactly `reqs`); fast when current."""
    reqs = requirements(groups) if reqs is None else sorted(reqs)
    python = venv_python(venv)
    stamp_path = venv / ".cnn-playground-stamp.json"
    key = sha256_bytes(json.dumps([sys.version, reqs]).encode())
    stamp = {}
    if stamp_path.exists():
        try:
            stamp = json.loads(stamp_path.read_text())
        except ValueError:
            stamp = {}
    if python.exists() and key in stamp.get("installed", []):
        return python
    if not python.exists():
        log(f"Creating the venv {venv.relative_to(ROOT)}/")
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        except subprocess.CalledProcessError as exc:
            raise StepError(
                "venv",
                f"`{sys.executable} -m venv {venv.name}` failed ({exc.returncode})",
                "install your Python's venv module (Debian: apt-get install python3-venv)",
            ) from exc
        stamp = {}
    log(f"Installing pinned host packages into {venv.name} ({', '.join(groups) or 'core'})")
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *reqs]
    detail(" ".join(cmd[3:]))
    if subprocess.run(cmd, check=False).returncode != 0:
        raise StepError(
            "venv",
            "pip could not install the pinned host packages (output above)",
            "check the network access to PyPI, then re-run; `python3 build.py clean --venv` "
            "starts from a fresh venv",
        )
    stamp.setdefault("installed", []).append(key)
    stamp_path.write_text(json.dumps(stamp))
    return python
