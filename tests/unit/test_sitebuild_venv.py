"""The hashed locks of the host venvs (requirements/*.txt, sitebuild/venv.py)."""

import re

import pytest

from sitebuild import venv
from sitebuild.lock import canonical_name, file_version
from sitebuild.report import StepError


@pytest.mark.parametrize("group", venv.all_groups())
def test_each_lock_matches_pyproject_and_pins_every_package_with_hashes(group):
    sources, entries = venv.read_lock(group)
    assert sources == venv.requirements(group), "run `python3 build.py lock-venvs`"
    pins = {}
    for name, entry in entries.items():
        first, *hashes = entry.splitlines()
        version = re.fullmatch(rf"{re.escape(name)}==(\S+) \\", first).group(1)
        pins[name] = version
        assert hashes and all(
            re.fullmatch(r"    --hash=sha256:[0-9a-f]{64}( \\)?", h) for h in hashes
        )
    for requirement in sources:
        name, _, version = requirement.partition("==")
        if version:  # an exact pin in pyproject.toml is the locked version (a local build
            # of it, "+cpu", counts)
            assert pins[canonical_name(name)].split("+")[0] == version


def test_the_locks_of_one_venv_agree():
    merged = venv.locked_requirements(venv.TEST_GROUPS)
    assert {"panel", "bokeh", "pytest", "ruff", "setuptools", "numpy"} <= set(merged)


def test_the_browser_numpy_lock_pins_the_numpy_pyodide_runs():
    from sitebuild.config import browser_numpy_version

    assert f"numpy=={browser_numpy_version()}" in venv.read_lock("browser-numpy")[0]


@pytest.fixture
def locks(tmp_path, monkeypatch):
    monkeypatch.setattr(venv, "LOCKS", tmp_path)
    return tmp_path


def test_a_lock_round_trips(locks):
    text = venv.format_lock("test", ["a==1", "b>=2"], {"b": ("2.5", ["f" * 64, "0" * 64])})
    (locks / "test.txt").write_text(text)
    sources, entries = venv.read_lock("test")
    assert sources == ["a==1", "b>=2"]
    assert entries == {
        "b": f"b==2.5 \\\n    --hash=sha256:{'0' * 64} \\\n    --hash=sha256:{'f' * 64}\n"
    }


def test_a_lock_older_than_pyproject_is_refused_with_what_to_run(locks):
    stale = [r.replace("==", "==0.") for r in venv.requirements("test")]
    (locks / "test.txt").write_text(venv.format_lock("test", stale, {}))
    with pytest.raises(StepError) as err:
        venv.locked_requirements(["test"])
    assert "requirements/test.txt was resolved from" in err.value.why
    assert "python3 build.py lock-venvs" in err.value.fix


def test_a_missing_lock_says_what_to_run(locks):
    with pytest.raises(StepError, match="requirements/app.txt is missing") as err:
        venv.locked_requirements(["app"])
    assert "lock-venvs" in err.value.fix


def test_two_locks_of_one_venv_that_disagree_are_refused(locks):
    for group, version in (("core", "2.4.6"), ("app", "2.4.5")):
        pins = {"numpy": (version, ["a" * 64])}
        (locks / f"{group}.txt").write_text(venv.format_lock(group, venv.requirements(group), pins))
    with pytest.raises(StepError, match="numpy is locked differently"):
        venv.locked_requirements(["core", "app"])


@pytest.mark.parametrize(
    "filename, version",
    [
        ("numpy-2.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "2.0.2"),
        ("numpy-2.0.2.tar.gz", "2.0.2"),
        ("certifi-2026.10.19.post1-py3-none-any.whl", "2026.10.19.post1"),
        ("python_dateutil-2.9.0.post0.tar.gz", "2.9.0.post0"),
        ("pkg-1.0.zip", "1.0"),
        ("pkg-1.0.exe", None),
    ],
)
def test_the_version_of_a_distribution_file(filename, version):
    assert file_version(filename) == version
