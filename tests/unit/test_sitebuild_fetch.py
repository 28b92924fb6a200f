"""Trust checks of the fetch step: an artefact whose sha256 is not the pinned one is refused."""

import hashlib
import zipfile

import pytest

from sitebuild.fetch import verified_member
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
