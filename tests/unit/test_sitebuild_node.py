"""The build's one way to run a Node.js script (sitebuild/node.py): its output on success,
a StepError naming the step, the script, what it printed and what to try on failure."""

from __future__ import annotations

import shutil

import pytest

from sitebuild.node import run_node
from sitebuild.report import StepError

# Node.js is what the build's precompile and snapshot steps and tests/pyodide run on.
assert shutil.which("node"), "Node.js is needed to test how the build runs it"


def test_a_script_that_succeeds_gives_its_output(tmp_path):
    script = tmp_path / "hello.mjs"
    script.write_text("console.log('hello ' + process.argv[2]);\n")
    assert run_node("greet", [script, "world"], "never shown").stdout == "hello world\n"


def test_a_script_that_fails_ends_the_step_with_its_error_and_the_hint(tmp_path):
    script = tmp_path / "broken.mjs"
    script.write_text("console.error('the imports failed: no module named x'); process.exit(3);\n")
    with pytest.raises(StepError) as caught:
        run_node("snapshot", [script, "make", tmp_path / "work"], "check the app's imports")
    error = caught.value
    assert error.step == "snapshot" and error.fix == "check the app's imports"
    assert "`node broken.mjs make work` failed (exit 3)" in error.why
    assert "the imports failed: no module named x" in error.why
    assert str(error).startswith("snapshot: ")


def test_a_missing_node_is_a_step_error_too(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no node on it
    with pytest.raises(StepError) as caught:
        run_node("precompile", [tmp_path / "x.mjs"], "install Node.js")
    assert caught.value.step == "precompile" and "not found" in caught.value.why
