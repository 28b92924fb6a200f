"""The exported scripts read like code a careful person wrote: ruff finds nothing to fix."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pycnn import Conv2D, Dense, Flatten, Sequential, datasets, export

LIBRARIES = {"keras": export.to_keras, "pytorch": export.to_pytorch}


def ruff_problems(code: str) -> str:
    """What ruff's lint rules (its defaults plus import order, pyupgrade, bugbear,
    simplify) and its formatter would change, at pycnn's line length; "" if nothing."""
    options = ["--isolated", "--line-length", "100", "--stdin-filename", "cnn.py"]
    problems = ""
    for command in (
        ["check", *options, "--extend-select", "I,UP,B,SIM"],
        ["format", *options, "--check"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "-"],
            input=code,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            problems += result.stdout + result.stderr
    return problems


@pytest.mark.parametrize("library", LIBRARIES)
def test_ruff_finds_nothing_to_fix(case, library):
    assert ruff_problems(LIBRARIES[library](case.model, **case.training())) == ""


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("dataset", ["shapes", "colour-shapes"])
def test_ruff_finds_nothing_to_fix_in_the_shapes_generators(library, dataset):
    info = datasets.info(dataset)
    model = Sequential(
        [Conv2D(4, 5), Flatten(), Dense(info.num_classes, activation="softmax")],
        input_shape=info.input_shape,
    )
    assert ruff_problems(LIBRARIES[library](model, dataset=dataset)) == ""
