"""What goes over the wire compressed: the one package archive the worker unpacks, and the
gzip twins the local server sends."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

from sitebuild.config import cache_dir, sha256_bytes, sha256_file
from sitebuild.report import StepError

IMAGE_NAME = "site-packages.tar.gz"
LATER_IMAGE_NAME = "site-packages-later.tar.gz"


def build_image(wheels: list[Path], out: Path, name: str = IMAGE_NAME) -> dict:
    """Every file of the wheels in one gzip'd tar, relative to site-packages.

    The worker inflates it natively (DecompressionStream) while Python boots and writes the
    files into the in-memory file system from JavaScript: unpacking 26 wheels with Python's
    zipfile inside Pyodide took about a second of every start-up. Deterministic (sorted,
    mtime 0), so the same wheels give the same bytes; cached by the wheels' hashes.
    """
    recipe = "image-1"
    key = sha256_bytes(
        "".join(f"{w.name}:{sha256_file(w)}\n" for w in wheels).encode() + recipe.encode()
    )[:24]
    cached = cache_dir() / "image" / f"{key}.tar.gz"
    raw = io.BytesIO()
    seen: set[str] = set()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for whl in wheels:
            with zipfile.ZipFile(whl) as zf:
                for info in sorted(zf.infolist(), key=lambda i: i.filename):
                    if info.is_dir():
                        continue
                    if info.filename in seen:
                        raise StepError(
                            "image",
                            f"{whl.name} and another wheel both contain {info.filename}",
                            "drop one of the packages",
                        )
                    seen.add(info.filename)
                    data = zf.read(info)
                    member = tarfile.TarInfo(info.filename)
                    member.size, member.mtime, member.mode = len(data), 0, 0o644
                    try:
                        tar.addfile(member, io.BytesIO(data))
                    except ValueError as exc:  # a path too long for the ustar format
                        raise StepError(
                            "image", f"{whl.name}: {exc}", "extend build_image"
                        ) from exc
    tar_bytes = raw.getvalue()
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(gzip.compress(tar_bytes, compresslevel=9, mtime=0))
        os.replace(tmp, cached)
    target = out / name
    shutil.copyfile(cached, target)
    return {
        "file": name,
        "size": target.stat().st_size,
        "files": len(seen),
        "unpackedBytes": len(tar_bytes),
        # Hosts that send a .gz file with Content-Encoding: gzip hand the page the tar
        # itself: the worker accepts either, each checked against its own hash.
        "sha256": sha256_file(target),
        "tarSha256": sha256_bytes(tar_bytes),
    }


def build_images(wheels: dict[str, Path], after_live: list[str], out: Path) -> tuple:
    """The package archive the page needs first and the one it fetches once live.

    `wheels` maps package names to wheel files; `after_live` names the packages of the
    second archive (pyproject.toml, `after-live`: nothing imports them before the page is
    live). Returns both archives' entries for the worker's configuration (None for an empty
    second one).
    """
    unknown = sorted(set(after_live) - set(wheels))
    if unknown:
        raise StepError(
            "image",
            f"after-live names packages the site does not ship: {', '.join(unknown)}",
            "fix [tool.cnn-playground.runtime] after-live in pyproject.toml",
        )
    first = [whl for name, whl in wheels.items() if name not in after_live]
    later = [whl for name, whl in wheels.items() if name in after_live]
    return (
        build_image(first, out, IMAGE_NAME),
        build_image(later, out, LATER_IMAGE_NAME) if later else None,
    )


COMPRESSIBLE = (".wasm", ".js", ".mjs", ".css", ".html", ".json", ".svg", ".txt", ".map")


def precompress(stage: Path, files: list[str]) -> int:
    """Write <file>.gz next to compressible files (make_server serves them); bytes saved."""

    saved = 0
    for rel in files:
        path = stage / rel
        if not rel.endswith(COMPRESSIBLE) or path.name == "sw.js" or path.stat().st_size < 2048:
            continue
        data = path.read_bytes()
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        if len(packed) < 0.9 * len(data):
            path.with_name(path.name + ".gz").write_bytes(packed)
            saved += len(data) - len(packed)
    return saved
