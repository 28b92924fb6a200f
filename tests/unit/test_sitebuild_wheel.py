"""Wheel rewriting (sitebuild.wheel): what the browser's wheels become, with a valid RECORD."""

import base64
import csv
import hashlib
import io
import zipfile

import pytest

from sitebuild.patch import parse
from sitebuild.report import StepError
from sitebuild.wheel import rewrite_wheel

WHEEL = "Wheel-Version: 1.0\nGenerator: bdist_wheel\nRoot-Is-Purelib: false\nTag: cp312-cp312-manylinux_2_17_x86_64\n"


@pytest.fixture
def native_wheel(tmp_path):
    """A wheel like PyYAML's: a pure fallback next to a compiled extension."""
    path = tmp_path / "pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pkg/", b"")  # a directory entry
        zf.writestr("pkg/__init__.py", "from pkg.core import VALUE\n")
        zf.writestr("pkg/core.py", 'VALUE = "upstream"\n')
        zf.writestr("pkg/_speedups.cpython-312-x86_64-linux-gnu.so", b"\x7fELF")
        zf.writestr("pkg-1.0.dist-info/METADATA", "Name: pkg\nVersion: 1.0\n")
        zf.writestr("pkg-1.0.dist-info/WHEEL", WHEEL)
        zf.writestr("pkg-1.0.dist-info/RECORD", "stale,,\n")
    return path


def _record(zf: zipfile.ZipFile) -> list[list[str]]:
    return list(csv.reader(io.StringIO(zf.read("pkg-1.0.dist-info/RECORD").decode())))


def test_dropping_patching_adding_and_retagging_keep_the_record_valid(native_wheel, tmp_path):
    patch = parse(
        "core.patch",
        'file: pkg/core.py\n@@ upstream\nVALUE = "upstream"\n@@ ours\nVALUE = "ours"\n@@ end\n',
    )
    out = rewrite_wheel(
        native_wheel,
        tmp_path / "out",
        drop=lambda name: name.endswith(".so"),
        patches=[patch],
        retag="py3-none-any",
        add={"pkg/__pycache__/core.cpython-312.pyc": b"bytecode"},
    )
    assert out.name == "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert names[-1] == "pkg-1.0.dist-info/RECORD"  # last, as installers expect
        assert sorted(names[:-1]) == names[:-1]
        assert not any(n.endswith((".so", "/")) for n in names)
        assert zf.read("pkg/core.py") == b'VALUE = "ours"\n'
        assert zf.read("pkg/__pycache__/core.cpython-312.pyc") == b"bytecode"
        wheel = zf.read("pkg-1.0.dist-info/WHEEL").decode().splitlines()
        assert "Tag: py3-none-any" in wheel and "Root-Is-Purelib: true" in wheel
        assert not any(line.startswith("Tag: cp312") for line in wheel)
        rows = _record(zf)
        assert {row[0] for row in rows} == set(names)
        for name, digest, size in rows:
            if name.endswith("RECORD"):
                assert (digest, size) == ("", "")
                continue
            data = zf.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert (digest, int(size)) == ("sha256=" + expected.decode(), len(data))
        assert {info.date_time for info in zf.infolist()} == {(2020, 1, 1, 0, 0, 0)}


def test_the_same_input_gives_the_same_bytes(native_wheel, tmp_path):
    one = rewrite_wheel(native_wheel, tmp_path / "one", retag="py3-none-any")
    two = rewrite_wheel(native_wheel, tmp_path / "two", retag="py3-none-any")
    assert one.read_bytes() == two.read_bytes()


def test_without_retag_the_name_and_tag_stay(native_wheel, tmp_path):
    out = rewrite_wheel(native_wheel, tmp_path / "out")
    assert out.name == native_wheel.name
    with zipfile.ZipFile(out) as zf:
        assert zf.read("pkg-1.0.dist-info/WHEEL").decode() == WHEEL


def test_a_wheel_without_record_is_refused(tmp_path):
    bad = tmp_path / "bad-1.0-py3-none-any.whl"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("bad/__init__.py", "")
    with pytest.raises(StepError, match="bad-1.0-py3-none-any.whl has no RECORD"):
        rewrite_wheel(bad, tmp_path / "out")
