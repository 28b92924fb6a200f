"""build.py's trust checks: an artefact whose sha256 is not the pinned one is refused."""

import hashlib
import zipfile

import pytest

import build


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "bundle.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("assets/numpy.whl", b"the real bytes")
    return path


def _entry(sha256: str) -> dict:
    return {"filename": "numpy.whl", "source": "bundle.whl!assets/numpy.whl", "sha256": sha256}


def test_a_member_with_its_pinned_hash_is_returned(archive):
    pinned = hashlib.sha256(b"the real bytes").hexdigest()
    assert build.verified_member(_entry(pinned), {"bundle.whl": archive}) == b"the real bytes"


def test_a_member_with_another_hash_is_refused_naming_the_file_and_both_hashes(archive):
    pinned = "0" * 64
    actual = hashlib.sha256(b"the real bytes").hexdigest()
    with pytest.raises(build.StepError) as err:
        build.verified_member(_entry(pinned), {"bundle.whl": archive})
    assert err.value.step == "verify"
    message = str(err.value)
    assert "numpy.whl" in message and pinned in message and actual in message
    assert err.value.fix  # and says what to do


def _wheel(path, files: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def test_the_package_archive_holds_every_wheel_file_and_is_reproducible(tmp_path, tmp_cache):
    import gzip
    import io
    import tarfile

    long_name = "pkg/" + "deep/" * 25 + "module.pyc"  # > 100 characters: needs the ustar prefix
    a = _wheel(tmp_path / "a-1.0-py3-none-any.whl", {"a/__init__.pyc": b"A", long_name: b"L"})
    b = _wheel(tmp_path / "b-2.0-py3-none-any.whl", {"b/data.bin": bytes(range(256)) * 5})
    out1, out2 = tmp_path / "one", tmp_path / "two"
    out1.mkdir()
    out2.mkdir()
    info = build.build_image([a, b], out1)
    again = build.build_image([a, b], out2)  # from the cache
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
    with pytest.raises(build.StepError) as err:
        build.build_image([a, b], tmp_path)
    assert "shared/x.py" in str(err.value)


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """build.py's download/derived-file cache in a temporary directory."""
    monkeypatch.setenv("CNN_PLAYGROUND_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
