"""Trust checks of the fetch step: an artefact whose sha256 is not the pinned one is refused."""

import hashlib
import zipfile

import pytest

from sitebuild.config import load_runtime_lock, runtime_config
from sitebuild.fetch import pinned_test_artefact, verified_member
from sitebuild.report import StepError


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
    assert verified_member(_entry(pinned), {"bundle.whl": archive}) == b"the real bytes"


def test_a_member_with_another_hash_is_refused_naming_the_file_and_both_hashes(archive):
    pinned = "0" * 64
    actual = hashlib.sha256(b"the real bytes").hexdigest()
    with pytest.raises(StepError) as err:
        verified_member(_entry(pinned), {"bundle.whl": archive})
    assert err.value.step == "verify"
    message = str(err.value)
    assert "numpy.whl" in message and pinned in message and actual in message
    assert err.value.fix  # and says what to do


def test_every_test_artefact_of_pyproject_is_pinned_in_the_lock():
    pinned = [e["source"] for e in load_runtime_lock()["test-artefacts"]]
    assert pinned == runtime_config()["test-artefacts"]
    assert all(len(e["sha256"]) == 64 for e in load_runtime_lock()["test-artefacts"])


def test_a_test_artefact_the_lock_does_not_pin_is_refused_with_what_to_do():
    with pytest.raises(StepError) as err:
        pinned_test_artefact("npm:no-such-tool@")
    assert "0 test artefacts" in str(err.value)
    assert "python3 build.py lock" in err.value.fix
