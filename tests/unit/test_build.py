"""build.py, the launcher: it runs on a bare Python, and a failed step reads as a message."""

import pkgutil
import subprocess
import sys

import build
import sitebuild
from sitebuild import assemble, kernels
from sitebuild.config import ROOT
from sitebuild.report import StepError

COMMANDS = ["build", "serve", "test", "dev", "clean", "lock", "lock-venvs", "bench-load", "scorm"]


def test_the_launcher_and_every_build_module_need_only_the_standard_library():
    # -S: no site-packages at all, as on a fresh machine before any venv exists.
    modules = [f"sitebuild.{m.name}" for m in pkgutil.iter_modules(sitebuild.__path__)]
    script = f"import importlib\nfor m in {modules!r}: importlib.import_module(m)\nimport build"
    res = subprocess.run(
        [sys.executable, "-E", "-S", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    help_text = subprocess.run(
        [sys.executable, "-E", "-S", "build.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in COMMANDS:
        assert command in help_text


def test_a_failed_step_says_which_why_and_what_to_do(monkeypatch, capsys):
    def fail():
        raise StepError("lock", "the registry is unreachable", "check the network")

    monkeypatch.setattr(build, "pin_runtime", fail)
    assert build.main(["lock"]) == 2
    err = capsys.readouterr().err
    assert "build.py lock: step 'lock' failed: the registry is unreachable" in err
    assert "what to do: check the network" in err


def test_the_kernel_step_says_which_sources_it_builds(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(kernels, "site_step", lambda stage: [{"file": "kernels/k.wasm"}])
    assert assemble.build_kernels_step(tmp_path) == [{"file": "kernels/k.wasm"}]
    said = capsys.readouterr().out.splitlines()[0]
    assert len(kernels.SOURCES) > 1
    for source in kernels.SOURCES:
        assert source.is_file() and f"pycnn/kernels/{source.name}" in said, said
