"""Running the build's Node.js scripts (precompile.mjs, snapshot.mjs): a script that fails
ends its build step with what it printed and what to try."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from sitebuild.report import StepError


def run_node(step: str, args: Sequence[str | Path], hint: str) -> subprocess.CompletedProcess:
    """Run ``node *args`` (a script, then its arguments); its output, as text, on success.

    Raises StepError naming `step`, the script and the end of its error output, with `hint`
    as what to do. Paths are shown by their names (the full ones are temporary folders)."""
    node = shutil.which("node")
    shown = " ".join(a.name if isinstance(a, Path) else a for a in args)
    if not node:
        raise StepError(step, f"Node.js is needed to run `{shown}` but was not found", hint)
    res = subprocess.run([node, *map(str, args)], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        output = (res.stderr or res.stdout)[-2000:]
        raise StepError(step, f"`node {shown}` failed (exit {res.returncode}):\n{output}", hint)
    return res
