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


# Imports Bokeh with modules' sources patched by build.py (argv: repo root, then "plain" or
# "<module>:<patch function>[,…]"), like the wheel the site ships.
PATCHED_IMPORT = r"""
import importlib.abc, importlib.util, json, re, sys
sys.path.insert(0, sys.argv[1])
if sys.argv[2] != "plain":
    import build
    patches = dict(item.split(":") for item in sys.argv[2].split(","))

    class Patched(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target_=None):
            if name not in patches:
                return None
            sys.meta_path.remove(self)
            origin = importlib.util.find_spec(name).origin
            sys.meta_path.insert(0, self)
            return importlib.util.spec_from_loader(name, self, origin=origin)

        def exec_module(self, module):
            origin = module.__spec__.origin
            source = open(origin).read()
            patched = getattr(build, patches[module.__name__])(source)
            assert patched != source, "the patch did not apply"
            module.__file__ = origin
            exec(compile(patched, origin, "exec"), module.__dict__)

    sys.meta_path.insert(0, Patched())
"""

SIGNATURES_SCRIPT = (
    PATCHED_IMPORT
    + r"""
import inspect
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
)

STREAM_SCRIPT = (
    PATCHED_IMPORT
    + r"""
import types
if sys.argv[3] == "stand-in":  # the worker's lazy pandas, not imported for real yet
    stub = types.ModuleType("pandas")
    stub.__cp_lazy__ = True
    def _used(name):
        raise AssertionError(f"pandas.{name} was used")
    stub.__getattr__ = _used
    sys.modules["pandas"] = stub
import numpy as np
from bokeh.core.serialization import Serializer
from bokeh.document import Document
from bokeh.models import ColumnDataSource

sent = []  # what a live page would be sent for each stream

def attempt(source, data, **kw):
    try:
        source.stream(data, **kw)
        return {k: [float(v) for v in vs] for k, vs in source.data.items()}
    except ValueError as exc:
        return str(exc)

out = []
src = ColumnDataSource(data={"index": [0.0], "x": [1.0], "y": [2.0]})
doc = Document()
doc.add_root(src)
doc.on_change(lambda event: sent.append(json.loads(json.dumps(
    Serializer(deferred=False).encode(event.to_serializable(Serializer(deferred=False))),
    default=str))))
out.append(attempt(src, {"index": [1.0], "x": [3.0], "y": [4.0]}))
out.append(attempt(src, {"index": np.array([2.0]), "x": np.array([5.0]), "y": np.array([6.0])},
                   rollover=2))
out.append(attempt(src, {"x": [1.0], "y": [2.0]}))
out.append(attempt(src, {"index": [3.0], "x": [1.0, 2.0], "y": [3.0]}))
out.append(attempt(src, {"index": [3.0], "x": np.zeros((1, 2)), "y": [3.0]}))
if sys.argv[3] == "pandas":
    import pandas as pd
    out.append(attempt(src, pd.DataFrame({"x": [7.0], "y": [8.0]})))
    out.append(attempt(src, pd.Series({"index": 4.0, "x": 9.0, "y": 10.0})))
    out.append(attempt(src, {"index": pd.Series([5.0]), "x": pd.Index([1.0]), "y": [2.0]}))
print(json.dumps(out + [len(sent)] + sent, default=str))
"""
)


def _run_patched(script: str, *args: str):
    import json
    import subprocess
    import sys

    res = subprocess.run(
        [sys.executable, "-c", script, str(build.ROOT), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


def test_lazy_bokeh_signatures_equal_bokehs_own():
    """The start-up patch of bokeh/model/model.py changes when signatures are built, not what
    they are: inspect.signature of every bokeh.models class is unchanged."""
    plain = _run_patched(SIGNATURES_SCRIPT, "plain")
    patched = _run_patched(SIGNATURES_SCRIPT, "bokeh.model.model:_patch_lazy_signature")
    assert patched["signature_type"] == "_CnnPlaygroundLazySignature"
    assert plain["signature_type"] == "Signature"
    assert len(plain["signatures"]) > 300
    assert patched["signatures"] == plain["signatures"]


def test_streaming_to_a_plot_needs_no_pandas_and_behaves_as_bokehs_own():
    """ColumnDataSource.stream (the training plots) does not touch the lazy pandas stand-in,
    and gives Bokeh's results and errors, for dicts, arrays and real pandas objects."""
    patch = "bokeh.models.sources:_patch_stream,bokeh.document.events:_patch_stream_event"
    with_stand_in = _run_patched(STREAM_SCRIPT, patch, "stand-in")
    assert _run_patched(STREAM_SCRIPT, "plain", "dicts") == with_stand_in
    assert with_stand_in[1] == {"index": [1.0, 2.0], "x": [3.0, 5.0], "y": [4.0, 6.0]}
    assert "missing: index" in with_stand_in[2]
    with_pandas = _run_patched(STREAM_SCRIPT, patch, "pandas")
    assert with_pandas == _run_patched(STREAM_SCRIPT, "plain", "pandas")
    assert with_pandas[:5] == with_stand_in[:5]
    assert with_stand_in[5] == 2 and len(with_stand_in) == 8  # two events sent, both encoded
