"""Build step: compile pycnn's WebAssembly kernel (pycnn/kernels/*.c) into one module.

The sources: ``gemm.c`` (the matrix products and the element-wise passes around them) and
``conv.c`` (a direct convolution for few channels), linked together. Two builds of them, both for wasm32 as Emscripten-style side modules (a
``dylink.0`` section, so Pyodide's own dynamic linker loads them into its memory):

* ``gemm-simd.wasm``: 128-bit SIMD (every current browser);
* ``gemm-relaxed.wasm``: SIMD plus relaxed SIMD (a fused multiply-add where the CPU has one).

The compiler is Zig's bundled clang/LLD from the PyPI package ``ziglang`` (pinned below,
every wheel's sha256 checked): it installs with pip on any machine, with no root, and its
LLVM knows the final relaxed-SIMD opcodes (Debian 12's clang 14 emits pre-standard ones
that browsers reject). The wheel is downloaded once into the project cache
(``<cache>/downloads``), checked, and unpacked into ``<cache>/toolchains``.

The builds are reproducible: the same source and toolchain give the same bytes. Their
sha256 is recorded in ``pycnn/kernels/wasm.lock.json`` and checked on every build, so a
changed compiler (or a non-deterministic one) stops the build instead of shipping
unreviewed code. After editing a source, re-pin with ``python3 -m sitebuild.kernels --pin``
(it compiles twice and refuses if the two results differ) and commit the lock.

Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from sitebuild.config import ROOT, cache_dir, sha256_file
from sitebuild.report import detail

KERNEL_DIR = ROOT / "pycnn" / "kernels"
SOURCES = [KERNEL_DIR / "gemm.c", KERNEL_DIR / "conv.c"]  # linked into one module
LOCK = KERNEL_DIR / "wasm.lock.json"

# file -> what the worker needs to choose it (the browser feature it needs, the name pycnn
# reports) and its clang flags beyond COMMON_FLAGS; in the worker's order of preference.
BUILDS = {
    "gemm-relaxed.wasm": {
        "feature": "relaxed",
        "name": "wasm-relaxed-simd",
        "flags": ["-msimd128", "-mrelaxed-simd"],
    },
    "gemm-simd.wasm": {"feature": "simd", "name": "wasm-simd", "flags": ["-msimd128"]},
}
SITE_FOLDER = "kernels"  # in the built site
COMMON_FLAGS = [
    "--target=wasm32-freestanding",
    "-O3",
    "-fPIC",  # position-independent: the dynamic linker places it
    "-fno-builtin",  # no hidden calls to memset/memcpy: the module imports no functions
    "-ffile-prefix-map=/=",
]
LINK_FLAGS = ["--experimental-pic", "-shared", "--no-entry", "--strip-all"]


class KernelBuildError(Exception):
    """What went wrong and what to do about it."""


def read_lock() -> dict:
    return json.loads(LOCK.read_text())


# --------------------------------------------------------------------------- toolchain


def _toolchain_wheel(lock: dict) -> Path:
    """The pinned ziglang wheel for this machine, downloaded once and checked by sha256."""
    requirement = lock["toolchain"]["requirement"]
    pinned = lock["toolchain"]["wheels"]  # file name -> sha256
    downloads = cache_dir() / "downloads"
    for name, digest in pinned.items():
        cached = downloads / name
        if _wheel_fits_here(name) and cached.exists() and sha256_file(cached) == digest:
            return cached
    with tempfile.TemporaryDirectory(prefix="cnn-playground-zig-") as tmp:
        detail(f"downloading {requirement} (the kernel's compiler, ~100 MB, once)")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        cmd += ["--disable-pip-version-check", "-q", "-d", tmp, requirement]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        got = sorted(Path(tmp).glob("*.whl"))
        if res.returncode != 0 or not got:
            raise KernelBuildError(
                f"`pip download {requirement}` failed:\n{res.stderr[-1500:]}\n"
                "check the network access to PyPI (pip's index settings)"
            )
        wheel = got[0]
        digest = sha256_file(wheel)
        if wheel.name not in pinned:
            raise KernelBuildError(
                f"{wheel.name} (sha256 {digest}) is not pinned in "
                f"{LOCK.relative_to(ROOT)}: add it to toolchain.wheels after checking it"
            )
        if digest != pinned[wheel.name]:
            raise KernelBuildError(
                f"sha256 mismatch for {wheel.name}: expected {pinned[wheel.name]}, got {digest}"
            )
        downloads.mkdir(parents=True, exist_ok=True)
        target = downloads / wheel.name
        shutil.copyfile(wheel, target.with_suffix(".part"))
        os.replace(target.with_suffix(".part"), target)
        return target


def _wheel_fits_here(name: str) -> bool:
    """Does this platform-tagged ziglang wheel run on this machine?"""
    import platform

    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    tags = name[:-4].split("-")[-1]
    if sys.platform.startswith("linux"):
        return "linux" in tags and arch in tags
    if sys.platform == "darwin":
        return "macosx" in tags and (arch in tags or ("arm64" in tags and arch == "aarch64"))
    if sys.platform == "win32":
        return "win" in tags and ("amd64" in tags if arch == "x86_64" else arch in tags)
    return False


def zig() -> Path:
    """The zig executable of the pinned toolchain, unpacked into the cache."""
    lock = read_lock()
    wheel = _toolchain_wheel(lock)
    home = cache_dir() / "toolchains" / wheel.name[:-4]
    exe = home / "ziglang" / ("zig.exe" if os.name == "nt" else "zig")
    if not exe.exists():
        detail(f"unpacking {wheel.name}")
        part = home.with_name(home.name + ".part")
        shutil.rmtree(part, ignore_errors=True)
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(part)
        part_exe = part / "ziglang" / exe.name
        part_exe.chmod(part_exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        shutil.rmtree(home, ignore_errors=True)
        os.replace(part, home)
    return exe


# --------------------------------------------------------------------------- compiling


def _compile(exe: Path, name: str, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="cnn-playground-kernel-") as tmp:
        env = dict(os.environ, ZIG_GLOBAL_CACHE_DIR=str(Path(tmp) / "zig-cache"))
        env["ZIG_LOCAL_CACHE_DIR"] = env["ZIG_GLOBAL_CACHE_DIR"]
        objects = [Path(tmp) / f"{source.stem}.o" for source in SOURCES]
        steps = [
            [str(exe), "cc", *COMMON_FLAGS, *BUILDS[name]["flags"], "-c", str(src), "-o", str(obj)]
            for src, obj in zip(SOURCES, objects)
        ]
        steps.append([str(exe), "wasm-ld", *LINK_FLAGS, "-o", str(out), *map(str, objects)])
        for cmd in steps:
            res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if res.returncode != 0:
                raise KernelBuildError(f"{' '.join(cmd[1:3])} failed for {name}:\n{res.stderr}")


def _recipe_key(lock: dict, name: str) -> str:
    """What a compiled kernel depends on: source, flags, toolchain."""
    parts = [
        *(source.read_bytes() for source in SOURCES),
        json.dumps([COMMON_FLAGS, BUILDS[name]["flags"], LINK_FLAGS]).encode(),
    ]
    parts.append(lock["toolchain"]["requirement"].encode())
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:24]


def build_kernels(out_dir: Path) -> dict[str, dict]:
    """Write every build into ``out_dir``, each checked against its pinned sha256.

    Returns ``{file name: {"sha256": ..., "size": ...}}``. Compiled files are cached by
    source, flags and toolchain, so a rebuild neither downloads nor compiles.
    """
    lock = read_lock()
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {}
    for name in BUILDS:
        want = lock["builds"].get(name)
        cached = cache_dir() / "kernels" / f"{_recipe_key(lock, name)}-{name}"
        if not cached.exists():
            cached.parent.mkdir(parents=True, exist_ok=True)
            _compile(zig(), name, cached.with_suffix(".part"))
            os.replace(cached.with_suffix(".part"), cached)
        digest = sha256_file(cached)
        if want is None or digest != want:
            raise KernelBuildError(
                f"{name}: compiled sha256 {digest}, but {LOCK.relative_to(ROOT)} pins {want}. "
                "If you changed a source in pycnn/kernels/ (or the flags), re-pin with "
                "`python3 -m sitebuild.kernels --pin` and commit the lock; otherwise the "
                "toolchain is not the pinned one"
            )
        shutil.copyfile(cached, out_dir / name)
        result[name] = {"sha256": digest, "size": cached.stat().st_size}
    return result


def site_step(site: Path) -> list[dict]:
    """Put the checked builds into ``site/kernels/``; returns the worker's ``CP.kernels``.

    That list holds ``{feature, name, file, sha256}`` for each build, in order of
    preference; the worker takes the first one the browser can run.
    """
    built = build_kernels(site / SITE_FOLDER)
    return [
        {
            "feature": spec["feature"],
            "name": spec["name"],
            "file": f"{SITE_FOLDER}/{file}",
            "sha256": built[file]["sha256"],
        }
        for file, spec in BUILDS.items()
    ]


def pin() -> dict[str, str]:
    """Compile every build twice from scratch; record their sha256 if both agree."""
    lock = read_lock()
    exe = zig()
    digests = {}
    with tempfile.TemporaryDirectory(prefix="cnn-playground-pin-") as tmp:
        for name in BUILDS:
            runs = []
            for i in range(2):
                out = Path(tmp) / f"{i}-{name}"
                _compile(exe, name, out)
                runs.append(sha256_file(out))
            if runs[0] != runs[1]:
                raise KernelBuildError(
                    f"{name}: two compilations differ ({runs}): not reproducible"
                )
            digests[name] = runs[0]
    lock["builds"] = digests
    LOCK.write_text(json.dumps(lock, indent=1) + "\n")
    return digests


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pin", action="store_true", help="re-pin the builds' sha256 in the lock")
    ap.add_argument("--out", type=Path, help="write the checked builds into this folder")
    args = ap.parse_args(argv)
    try:
        if args.pin:
            for name, digest in pin().items():
                print(f"{name}: {digest}")
        if args.out:
            for name, info in build_kernels(args.out).items():
                print(f"{args.out / name}: {info['size']} bytes, sha256 {info['sha256']}")
    except KernelBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
