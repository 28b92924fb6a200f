"""Load a dataset as float32 NHWC images in [0, 1] and int64 labels.

Pure numpy, no network and no subprocess, so it works the same on desktop
CPython and inside Pyodide. The real datasets are read from the compact uint8
``.npz`` files made by ``scripts/prepare_data.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .registry import DatasetInfo, info
from .shapes import make_shapes

__all__ = ["DATA_DIR", "load", "preview"]

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Folder holding the shipped ``.npz`` files and ``PROVENANCE.json``."""

Split = tuple[np.ndarray, np.ndarray]

_REQUIRED_KEYS = ("x_train", "y_train", "x_test", "y_test")
# Raw uint8 arrays already read, keyed by (path, mtime, size): reading and inflating
# MNIST takes ~0.1 s, and the UI calls load() again whenever the user switches back.
_RAW_CACHE: dict[tuple[str, int, int], dict[str, np.ndarray]] = {}


def _read_npz(path: Path, dataset: DatasetInfo) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(
            f"Dataset {dataset.name!r} needs {path.name}, which is not in {path.parent}. "
            "Rebuild it with `python3 scripts/prepare_data.py` or pass data_dir= the folder "
            f"that holds it. Received: data file {str(path)!r}"
        )
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _RAW_CACHE:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        missing = [k for k in _REQUIRED_KEYS if k not in arrays]
        bad = [k for k in _REQUIRED_KEYS if k in arrays and arrays[k].dtype != np.uint8]
        if missing or bad:
            raise ValueError(
                f"{path} is not a valid dataset file: missing keys {missing}, "
                f"non-uint8 arrays {bad}. Rebuild it with `python3 scripts/prepare_data.py`. "
                f"Received: keys {sorted(arrays)}"
            )
        _RAW_CACHE.clear()  # keep one dataset's raw bytes at most
        _RAW_CACHE[key] = arrays
    return _RAW_CACHE[key]


def _to_float_images(x: np.ndarray, pixel_max: float) -> np.ndarray:
    """uint8 ``(N, H, W)`` → float32 ``(N, H, W, 1)`` in [0, 1]."""
    out = x.astype(np.float32)[..., None]
    out *= np.float32(1.0 / pixel_max)
    return np.minimum(out, np.float32(1.0), out=out)  # guards 255 * (1/255) rounding up


def load(
    name: str, *, data_dir: str | Path | None = None, seed: int = 0
) -> tuple[Split, Split, list[str]]:
    """Load a dataset by name.

    Parameters
    ----------
    name : str
        One of :func:`pycnn.datasets.available`: ``"digits"``, ``"mnist"``,
        ``"fashion"``, ``"shapes"``.
    data_dir : str or Path, optional
        Folder with the ``.npz`` files; default: the package's ``data/`` folder.
    seed : int
        Only used by the generated ``"shapes"`` dataset (same seed, same images).

    Returns
    -------
    (x_train, y_train), (x_test, y_test), class_names
        ``x_*`` float32 ``(N, H, W, 1)`` with values in [0, 1]; ``y_*`` int64
        ``(N,)`` with values in ``range(len(class_names))``; ``class_names`` a
        list of str. Every call returns fresh arrays the caller may modify.

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid ones) or a malformed data file.
    FileNotFoundError
        The dataset's ``.npz`` file is not in the data folder.
    """
    dataset = info(name)
    if dataset.synthetic:
        # Train and test come from independent streams, so neither depends on the other's size.
        train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
        x_train, y_train = make_shapes(
            dataset.n_train, size=dataset.input_shape[0], seed=train_seed
        )
        x_test, y_test = make_shapes(dataset.n_test, size=dataset.input_shape[0], seed=test_seed)
        return (x_train, y_train), (x_test, y_test), list(dataset.class_names)

    folder = Path(data_dir) if data_dir is not None else DATA_DIR
    raw = _read_npz(folder / dataset.file, dataset)
    pixel_max = float(raw["pixel_max"]) if "pixel_max" in raw else 255.0
    class_names = (
        [str(c) for c in raw["class_names"]] if "class_names" in raw else list(dataset.class_names)
    )
    return (
        (_to_float_images(raw["x_train"], pixel_max), raw["y_train"].astype(np.int64)),
        (_to_float_images(raw["x_test"], pixel_max), raw["y_test"].astype(np.int64)),
        class_names,
    )


def preview(
    name: str,
    per_class: int = 8,
    *,
    split: str = "test",
    data_dir: str | Path | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A small class-balanced sample for a preview grid.

    Takes the first ``per_class`` images of each class from ``split``
    (deterministic), grouped by class in label order.

    Returns
    -------
    x : float32 ``(n, H, W, 1)`` in [0, 1], with ``n = per_class * num_classes``
        (fewer if a class has fewer images)
    y : int64 ``(n,)``, sorted: ``[0]*per_class + [1]*per_class + ...``
    class_names : list of str
    """
    if int(per_class) != per_class or per_class < 1:
        raise ValueError(f"per_class must be a positive integer. Received: {per_class!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'. Received: {split!r}")
    dataset = info(name)
    if dataset.synthetic:
        # Generate just enough images instead of the whole dataset.
        x, y = make_shapes(
            int(per_class) * dataset.num_classes * 2, size=dataset.input_shape[0], seed=seed
        )
        class_names = list(dataset.class_names)
    else:
        train, test, class_names = load(name, data_dir=data_dir)
        x, y = train if split == "train" else test
    picks = np.concatenate(
        [np.flatnonzero(y == k)[: int(per_class)] for k in range(len(class_names))]
    )
    return x[picks], y[picks], class_names
