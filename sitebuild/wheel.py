"""Wheel rewriting: drop files, apply patches, add files, retag; RECORD stays valid."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from sitebuild.patch import Patch, patched_texts
from sitebuild.report import StepError


def keep_all(name: str) -> bool:
    return False


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def rewrite_wheel(
    src: Path,
    dest_dir: Path,
    drop: Callable[[str], bool] = keep_all,
    patches: Iterable[Patch] = (),
    retag: str | None = None,
    add: dict[str, bytes] | None = None,
) -> Path:
    """Copy wheel `src` into dest_dir, dropping files, patching text, optionally retagging.

    Each patch changes the file it names (sitebuild/patch.py); patches of one file are
    applied in the order given, each to the text the ones before it left. `retag` replaces the
    wheel's tag (e.g. "py3-none-any") in its filename and WHEEL metadata. RECORD is
    regenerated. Entries are written in a fixed order with fixed timestamps, so the output
    is reproducible for the same inputs.
    """
    patches = list(patches)
    name_parts = src.name[: -len(".whl")].split("-")
    out_name = src.name if retag is None else "-".join(name_parts[:2] + [retag]) + ".whl"
    files: dict[str, bytes] = {}
    record_name = None
    with zipfile.ZipFile(src) as zf:
        kept = {name for name in zf.namelist() if not drop(name)}
        for patch in patches:
            if patch.target not in kept:
                raise StepError(
                    "patch",
                    f"{patch.name}: {src.name} has no {patch.target}",
                    f"the upstream code moved: update or delete sitebuild/patches/{patch.name}",
                )
        patched = patched_texts(patches, lambda target: zf.read(target).decode("utf-8"))
        for info in zf.infolist():
            if info.is_dir():
                continue
            if info.filename.endswith(".dist-info/RECORD"):
                record_name = info.filename
                continue
            if drop(info.filename):
                continue
            data = zf.read(info.filename)
            if info.filename in patched:
                data = patched[info.filename].encode("utf-8")
            if retag and info.filename.endswith(".dist-info/WHEEL"):
                lines = [ln for ln in data.decode().splitlines() if not ln.startswith("Tag:")]
                lines.append(f"Tag: {retag}")
                lines = [
                    ("Root-Is-Purelib: true" if ln.startswith("Root-Is-Purelib") else ln)
                    for ln in lines
                ]
                data = ("\n".join(lines) + "\n").encode()
            files[info.filename] = data
    files.update(add or {})
    if record_name is None:
        raise StepError("wheel", f"{src.name} has no RECORD", "not a valid wheel")
    record = io.StringIO()
    for name, data in files.items():
        record.write(f"{name},{_record_hash(data)},{len(data)}\n")
    record.write(f"{record_name},,\n")
    files[record_name] = record.getvalue().encode()
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = dest_dir / out_name
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(files, key=lambda n: (n == record_name, n)):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name], compresslevel=9)
    return out
