"""`python3 build.py test`: style checks, a Chromium, a current site, pytest, the engine's
tests once more on the browser's numpy, and the exports against the reference libraries."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from sitebuild.assemble import ensure_site
from sitebuild.chromium import CHROMIUM_ENV, ensure_chromium
from sitebuild.config import ROOT, browser_numpy_version
from sitebuild.report import StepError, log
from sitebuild.venv import TEST_GROUPS, ensure_venv, venv_bin, venv_python

TESTS = ROOT / "tests"
E2E = TESTS / "e2e"

# ruff's two checks, and what to do when one fails.
STYLE_CHECKS = [
    (["check", "."], "fix what it lists (`.venv/bin/ruff check --fix .` fixes many)"),
    (["format", "--check", "."], "run `.venv/bin/ruff format .`"),
]


def run_tests(pytest_args: list[str]) -> int:
    """Run pytest on `pytest_args` (the whole suite if none); return its exit status."""
    python = ensure_venv(TEST_GROUPS)
    extra = [a for a in pytest_args if a != "--"]
    whole = not extra  # `python3 build.py test` with no arguments: everything, both numpys
    if whole:
        check_style()
    paths = [ROOT / a.split("::")[0] for a in extra if not a.startswith("-")]
    paths = [p.resolve() for p in paths if p.exists()]
    env = dict(os.environ)
    if not paths or any(p == E2E or p in E2E.parents or E2E in p.parents for p in paths):
        env[CHROMIUM_ENV] = ensure_chromium(python)
        log(f"Chromium: {env[CHROMIUM_ENV]}")
    ensure_site()
    if not paths:
        # Whole suite: browser tests last. Playwright's sync API keeps an event loop running
        # in the main thread while its session browser is open, which breaks asyncio.run()
        # in unit tests collected after it.
        extra += [
            str(p.relative_to(ROOT))
            for p in sorted(TESTS.iterdir())
            if p.name != "e2e"
            and (p.is_dir() and p.name != "__pycache__" or p.name.startswith("test_"))
        ]
        extra += ["tests/e2e"] if E2E.exists() else []
    log("Running " + " ".join(["pytest", *extra]))
    status = subprocess.run(
        [str(python), "-m", "pytest", *extra], cwd=str(ROOT), env=env, check=False
    ).returncode
    if whole:
        status = status or run_engine_tests_on_browser_numpy(env)
        status = status or run_reference_tests(env)
    return status


def check_style() -> None:
    """ruff check and ruff format --check over the tree; a finding fails the run."""
    for args, fix in STYLE_CHECKS:
        log("Running ruff " + " ".join(args))
        if subprocess.run([str(venv_bin("ruff")), *args], cwd=str(ROOT), check=False).returncode:
            raise StepError("ruff", f"`ruff {' '.join(args)}` found problems (listed above)", fix)


def run_engine_tests_on_browser_numpy(env: dict) -> int:
    """pycnn must behave the same on the browser's (older) numpy: run its tests there too."""
    version = browser_numpy_version()
    python = ensure_venv(["browser-numpy"], ROOT / f".venv-numpy{version}")
    log(f"Running the pycnn tests again on numpy {version} (the browser's numpy)")
    return subprocess.run(
        [str(python), "-m", "pytest", "-q", *engine_tests()], cwd=str(ROOT), env=env, check=False
    ).returncode


def run_reference_tests(env: dict) -> int:
    """pycnn's exports against the real Keras, PyTorch and TensorBoard, in their own venv
    (tests/reference/run.py creates it from requirements/reference.txt). Run by .venv's
    python, which sees the checkout, so run.py imports sitebuild.venv."""
    log("Running the reference tests (exports against Keras, PyTorch and TensorBoard)")
    command = [str(venv_python()), str(TESTS / "reference" / "run.py")]
    return subprocess.run(command, cwd=str(ROOT), env=env, check=False).returncode


# What the browser-numpy venv holds, besides the standard library.
ENGINE_TEST_IMPORTS = {"pycnn", "numpy", "pytest", "hypothesis"}


def engine_tests() -> list[str]:
    """The unit tests that import nothing but pycnn, numpy, the test tools and the standard
    library (so not the app's, the lesson's or the build's), found by reading their imports."""
    allowed = ENGINE_TEST_IMPORTS | set(sys.stdlib_module_names)
    chosen = []
    for path in sorted((TESTS / "unit").glob("test_*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
        if imported <= allowed:
            chosen.append(str(path.relative_to(ROOT)))
    return chosen
