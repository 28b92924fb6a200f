"""Which Chromium the end-to-end tests and the benchmarks drive, and installing one.

The one place that decides; tests/e2e/e2e_support.py and the benchmarks use it too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from sitebuild.report import StepError, log

CHROMIUM_ENV = "CNN_PLAYGROUND_CHROMIUM"

# What to do where Playwright cannot download its Chromium (CI does the first: .ci/run).
INSTALL_ADVICE = (
    "install Debian's Chromium (`sudo apt-get install chromium`), or set "
    f"{CHROMIUM_ENV} to a Chromium or Chrome binary, then run the command again"
)


def find_chromium(python: str | Path = sys.executable) -> str | None:
    """The Chromium to use, or None if there is none.

    In this order: `$CNN_PLAYGROUND_CHROMIUM` (a path or command; an error if it does not
    exist), `chromium`, `chromium-browser` or `google-chrome` on PATH, then Playwright's
    own Chromium if the Playwright of `python` has installed it.
    """
    explicit = os.environ.get(CHROMIUM_ENV)
    if explicit:
        path = shutil.which(explicit) or explicit
        if not Path(path).is_file():
            raise StepError(
                "chromium",
                f"{CHROMIUM_ENV}={explicit} is not an executable file",
                "point it at a Chromium or Chrome binary, or unset it",
            )
        return path
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
    return path if res.returncode == 0 and path and Path(path).is_file() else None


def ensure_chromium(python: str | Path) -> str:
    """Find a Chromium; where there is none, install Playwright's own (the normal way on a
    machine with internet). Only if that download fails, say what to install instead."""
    found = find_chromium(python)
    if found:
        return found
    cmd = [str(python), "-m", "playwright", "install", "chromium"]
    log(f"No Chromium found: installing Playwright's own (`{' '.join(cmd)}`)")
    if subprocess.run(cmd, check=False).returncode == 0:
        found = find_chromium(python)
        if found:
            return found
    raise StepError(
        "chromium",
        "the end-to-end tests need Chromium; none is installed and Playwright could not "
        "download its own (output above)",
        INSTALL_ADVICE,
    )
