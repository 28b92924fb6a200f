"""Run the reference test group: pycnn's exports against the real Keras, PyTorch and TensorBoard.

    python tests/reference/run.py [pytest arguments]   create or update .venv-reference, run the group
    python tests/reference/run.py --lock               re-pin requirements.txt from requirements.in

The heavy libraries live in their own venv, ``.venv-reference/`` at the top of the
repository, installed from ``requirements.txt`` with ``--require-hashes``: every package,
dependencies included, is pinned to one version and the sha256 of its wheel. That file is
made, not written: ``--lock`` asks pip to resolve ``requirements.in`` (``pip install
--dry-run --report``) and writes each resolved wheel's version and hash. The hashes are
those of the wheels for this platform (Linux x86_64, CPython 3.11, where CI runs; torch is
the CPU build).

Self-contained (standard library only), so ``build.py test`` can call :func:`main`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENV = ROOT / ".venv-reference"
SOURCES = HERE / "requirements.in"
REQUIREMENTS = HERE / "requirements.txt"


def venv_python(venv: Path = VENV) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _stamp() -> str:
    """What the venv was installed from: the pinned requirements and this Python."""
    return hashlib.sha256(REQUIREMENTS.read_bytes() + sys.version.encode()).hexdigest()


def ensure_venv() -> Path:
    """``.venv-reference`` with exactly ``requirements.txt`` installed (quick when it is).

    Any other venv there (older pins, another Python, an install that broke off) is
    replaced by a fresh one, so nothing from before lingers in it.
    """
    python, stamp = venv_python(), VENV / ".requirements-sha256"
    if python.exists() and stamp.exists() and stamp.read_text() == _stamp():
        return python
    started = time.perf_counter()
    print(f"reference: creating {VENV.name}/", flush=True)
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    print(f"reference: installing {REQUIREMENTS.relative_to(ROOT)} (hash-checked)", flush=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "--require-hashes",
            "--only-binary",
            ":all:",
            # no .pyc for the ~10,000 modules of torch & co. up front: the few the tests
            # import are compiled on first use, and the install takes a fraction of the time
            "--no-compile",
            "-r",
            str(REQUIREMENTS),
        ],
        check=True,
    )
    stamp.write_text(_stamp())
    size = sum(f.stat().st_size for f in VENV.rglob("*") if f.is_file() and not f.is_symlink())
    print(
        f"reference: venv ready in {time.perf_counter() - started:.0f} s, {size / 1e6:,.0f} MB",
        flush=True,
    )
    return python


def lock() -> None:
    """Resolve ``requirements.in`` with pip and write every wheel's version and sha256."""
    with tempfile.TemporaryDirectory(prefix="cnn-playground-lock-") as tmp:
        report = Path(tmp, "report.json")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                "--dry-run",
                "--ignore-installed",
                "--only-binary",
                ":all:",
                "--report",
                str(report),
                "-r",
                str(SOURCES),
            ],
            check=True,
        )
        resolved = json.loads(report.read_text())["install"]
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    lines = [
        "# Made by `python tests/reference/run.py --lock` from requirements.in: do not edit.",
        f"# Python {python}, {sys.platform}; installed with --require-hashes.",
    ]
    for item in sorted(resolved, key=lambda i: i["metadata"]["name"].lower()):
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        sha256 = item["download_info"]["archive_info"]["hashes"]["sha256"]
        lines.append(f"{name}=={version} \\\n    --hash=sha256:{sha256}")
    REQUIREMENTS.write_text("\n".join(lines) + "\n")
    print(f"reference: wrote {len(resolved)} pins to {REQUIREMENTS.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--lock"]:
        lock()
        return 0
    python = ensure_venv()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["KERAS_BACKEND"] = "torch"
    env["CNN_PLAYGROUND_REFERENCE"] = "1"  # tests/reference/conftest.py: collect the group
    started = time.perf_counter()
    command = [str(python), "-m", "pytest", str(HERE.relative_to(ROOT)), *args]
    status = subprocess.run(command, cwd=str(ROOT), env=env, check=False).returncode
    print(f"reference: tests took {time.perf_counter() - started:.0f} s", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
