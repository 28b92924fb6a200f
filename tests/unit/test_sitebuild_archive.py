"""The package archives: every file of every wheel, reproducible, no file twice, split in two."""

import gzip
import hashlib
import io
import tarfile
import zipfile

import pytest

from sitebuild.archive import IMAGE_NAME, LATER_IMAGE_NAME, build_image, build_images
from sitebuild.report import StepError


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """The build's download/derived-file cache in a temporary directory."""
    monkeypatch.setenv("CNN_PLAYGROUND_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _wheel(path, files: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def test_the_package_archive_holds_every_wheel_file_and_is_reproducible(tmp_path, tmp_cache):
    long_name = "pkg/" + "deep/" * 25 + "module.pyc"  # > 100 characters: needs the ustar prefix
    a = _wheel(tmp_path / "a-1.0-py3-none-any.whl", {"a/__init__.pyc": b"A", long_name: b"L"})
    b = _wheel(tmp_path / "b-2.0-py3-none-any.whl", {"b/data.bin": bytes(range(256)) * 5})
    out1, out2 = tmp_path / "one", tmp_path / "two"
    out1.mkdir()
    out2.mkdir()
    info = build_image([a, b], out1)
    again = build_image([a, b], out2)  # from the cache
    assert (out1 / info["file"]).read_bytes() == (out2 / again["file"]).read_bytes()
    assert info == again

    packed = (out1 / info["file"]).read_bytes()
    assert info["sha256"] == hashlib.sha256(packed).hexdigest()
    tar_bytes = gzip.decompress(packed)
    assert info["tarSha256"] == hashlib.sha256(tar_bytes).hexdigest()
    assert info["unpackedBytes"] == len(tar_bytes)
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        got = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    assert got == {"a/__init__.pyc": b"A", long_name: b"L", "b/data.bin": bytes(range(256)) * 5}
    assert info["files"] == 3


def test_two_wheels_with_the_same_file_are_refused(tmp_path, tmp_cache):
    a = _wheel(tmp_path / "a-1.0-py3-none-any.whl", {"shared/x.py": b"1"})
    b = _wheel(tmp_path / "b-1.0-py3-none-any.whl", {"shared/x.py": b"2"})
    with pytest.raises(StepError) as err:
        build_image([a, b], tmp_path)
    assert "shared/x.py" in str(err.value)


def _members(path) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(path.read_bytes()))) as tar:
        return {m.name for m in tar.getmembers()}


def test_the_packages_named_after_live_go_into_the_second_archive(tmp_path, tmp_cache):
    wheels = {
        "app": _wheel(tmp_path / "app-1.0-py3-none-any.whl", {"app/__init__.pyc": b"A"}),
        "pandas": _wheel(tmp_path / "pandas-2.0-py3-none-any.whl", {"pandas/core.pyc": b"P"}),
        "pytz": _wheel(tmp_path / "pytz-1.0-py3-none-any.whl", {"pytz/__init__.pyc": b"Z"}),
    }
    first, later = build_images(wheels, ["pandas", "pytz"], tmp_path)
    assert (first["file"], later["file"]) == (IMAGE_NAME, LATER_IMAGE_NAME)
    assert _members(tmp_path / IMAGE_NAME) == {"app/__init__.pyc"}
    assert _members(tmp_path / LATER_IMAGE_NAME) == {"pandas/core.pyc", "pytz/__init__.pyc"}
    assert (first["files"], later["files"]) == (1, 2)

    first, later = build_images(wheels, [], tmp_path)  # nothing after live: one archive
    assert later is None and first["files"] == 3


def test_after_live_must_name_shipped_packages(tmp_path, tmp_cache):
    wheels = {"app": _wheel(tmp_path / "app-1.0-py3-none-any.whl", {"app/x.pyc": b"A"})}
    with pytest.raises(StepError) as err:
        build_images(wheels, ["pandsa"], tmp_path)
    assert "pandsa" in str(err.value)
