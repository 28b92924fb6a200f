"""Run the reference test group: pycnn's exports against the real Keras, PyTorch and TensorBoard.

    .venv/bin/python tests/reference/run.py [pytest arguments]   create or update .venv-reference, run the group

The heavy libraries live in their own venv, ``.venv-reference/`` at the top of the
repository, installed like every venv of the project (sitebuild/venv.py) from the hashed
lock ``requirements/reference.txt`` of pyproject.toml's ``reference`` group; re-pin it with
``python3 build.py lock-venvs``. torch is pinned to 2.13.0, the CPU build on the CI
machines; any other torch file (a multi-GB CUDA build) is refused by the hashes.

``build.py test`` calls :func:`main` after the rest of the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sitebuild.venv import ensure_venv

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENV = ROOT / ".venv-reference"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    started = time.perf_counter()
    # no .pyc for torch's ~10,000 modules up front: the tests import a few
    python = ensure_venv(["reference"], VENV, compile_bytecode=False)
    print(f"reference: venv ready in {time.perf_counter() - started:.0f} s", flush=True)
    env = dict(os.environ)
    env["KERAS_BACKEND"] = "torch"
    env["CNN_PLAYGROUND_REFERENCE"] = "1"  # tests/reference/conftest.py: collect the group
    started = time.perf_counter()
    command = [str(python), "-m", "pytest", str(HERE.relative_to(ROOT)), *args]
    status = subprocess.run(command, cwd=str(ROOT), env=env, check=False).returncode
    print(f"reference: tests took {time.perf_counter() - started:.0f} s", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
