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


SIGNATURES_SCRIPT = r"""
import importlib.abc, importlib.util, inspect, json, re, sys
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "patched":
    import build

    class PatchedModel(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            if name != "bokeh.model.model":
                return None
            sys.meta_path.remove(self)
            self.origin = importlib.util.find_spec(name).origin
            sys.meta_path.insert(0, self)
            return importlib.util.spec_from_loader(name, self, origin=self.origin)

        def exec_module(self, module):
            source = open(self.origin).read()
            patched = build._patch_lazy_signature(source)
            assert patched != source, "the patch did not apply"
            module.__file__ = self.origin
            exec(compile(patched, self.origin, "exec"), module.__dict__)

    sys.meta_path.insert(0, PatchedModel())
import bokeh.models
from bokeh.model import Model
lazy = type(bokeh.models.Button.__init__.__signature__).__name__
out = {}
for name in sorted(dir(bokeh.models)):
    cls = getattr(bokeh.models, name)
    if isinstance(cls, type) and issubclass(cls, Model):
        try:
            # defaults that are functions print their address: not part of the comparison
            out[name] = re.sub(" at 0x[0-9a-f]+", "", str(inspect.signature(cls.__init__)))
        except Exception as exc:
            out[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"signature_type": lazy, "signatures": out}))
"""


def test_lazy_bokeh_signatures_equal_bokehs_own():
    """The start-up patch of bokeh/model/model.py changes when signatures are built, not what
    they are: inspect.signature of every bokeh.models class is unchanged."""
    import json
    import subprocess
    import sys

    def run(mode):
        res = subprocess.run([sys.executable, "-c", SIGNATURES_SCRIPT, str(build.ROOT), mode],
                             capture_output=True, text=True, check=True)
        return json.loads(res.stdout)

    plain, patched = run("plain"), run("patched")
    assert patched["signature_type"] == "_CnnPlaygroundLazySignature"
    assert plain["signature_type"] == "Signature"
    assert len(plain["signatures"]) > 300
    assert patched["signatures"] == plain["signatures"]
