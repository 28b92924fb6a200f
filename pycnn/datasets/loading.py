"""Load a dataset as float32 NHWC images in [0, 1] and int64 labels.

Pure numpy, no network and no subprocess, so it works the same on desktop
CPython and inside Pyodide. The real datasets are read from the compact uint8
``.npz`` files made by ``scripts/prepare_data.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..arguments import normalize_seed
from ..errors import ModelError
from ..npz import read_arrays
from .registry import DatasetInfo, info
from .shapes import make_colour_shapes, make_shapes, whole_number

__all__ = ["DATA_DIR", "load", "preview"]

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Folder holding the shipped ``.npz`` files and ``PROVENANCE.json``."""

Split = tuple[np.ndarray, np.ndarray]

#: the generator of each synthetic dataset (``make(n, size=, seed=)``)
GENERATORS = {"shapes": make_shapes, "colour-shapes": make_colour_shapes}

_REQUIRED_KEYS = ("x_train", "y_train", "x_test", "y_test")
_REBUILD = "Rebuild it with `python3 scripts/prepare_data.py`"
# Raw uint8 arrays already read and checked, keyed by (path, mtime, size): reading and
# inflating MNIST takes ~0.1 s, and the UI calls load() again whenever the user switches back.
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
        arrays = read_arrays(path, f"the {dataset.name} dataset file", _REBUILD)
        _check_raw(arrays, dataset, path)
        _RAW_CACHE.clear()  # keep one dataset's raw bytes at most
        _RAW_CACHE[key] = arrays
    return _RAW_CACHE[key]


def _check_raw(arrays: dict[str, np.ndarray], dataset: DatasetInfo, path: Path) -> None:
    """The arrays a dataset file must hold, with shapes and values that fit ``dataset``."""

    def refuse(problem: str, received: str) -> ModelError:
        return ModelError(f"{path} {problem}", _REBUILD, received)

    missing = [k for k in _REQUIRED_KEYS if k not in arrays]
    bad = [k for k in _REQUIRED_KEYS if k in arrays and arrays[k].dtype != np.uint8]
    if missing or bad:
        raise refuse(
            f"is not a valid dataset file: missing keys {missing}, non-uint8 arrays {bad}",
            f"keys {sorted(arrays)}",
        )
    height, width, _ = dataset.input_shape
    classes = dataset.num_classes
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (height, width):
            raise refuse(
                f"holds x_{split} images of the wrong size for {dataset.name}: "
                f"expected (N, {height}, {width})",
                f"x_{split}.shape={x.shape}",
            )
        if y.shape != (x.shape[0],):
            raise refuse(
                f"needs one label per image in y_{split}",
                f"x_{split}.shape={x.shape}, y_{split}.shape={y.shape}",
            )
        if y.size and int(y.max()) >= classes:
            raise refuse(
                f"has y_{split} labels outside the {classes} classes 0 to {classes - 1}",
                f"largest label {int(y.max())}",
            )
    if "pixel_max" in arrays:
        pixel_max = arrays["pixel_max"]
        ok = pixel_max.shape == () and pixel_max.dtype.kind in "fiu"
        if not (ok and np.isfinite(pixel_max) and pixel_max > 0):
            raise refuse(
                "needs pixel_max, the value of a white pixel, to be one positive number",
                f"pixel_max={pixel_max.item()!r}" if ok else f"pixel_max.shape={pixel_max.shape}",
            )
    if "class_names" in arrays:
        names = arrays["class_names"]
        if names.shape != (classes,):
            raise refuse(
                f"needs {classes} class names for {dataset.name}",
                f"class_names.shape={names.shape}",
            )


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
        ``"fashion"``, ``"shapes"``, ``"colour-shapes"``.
    data_dir : str or Path, optional
        Folder with the ``.npz`` files; default: the package's ``data/`` folder.
    seed : int
        Only used by the generated datasets (same seed, same images).

    Returns
    -------
    (x_train, y_train), (x_test, y_test), class_names
        ``x_*`` float32 ``(N, H, W, C)`` with values in [0, 1]; ``y_*`` int64
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
    seed = normalize_seed(seed, None)
    if dataset.synthetic:
        # Train and test come from independent streams, so neither depends on the other's size.
        train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
        make, size = GENERATORS[name], dataset.input_shape[0]
        x_train, y_train = make(dataset.n_train, size=size, seed=train_seed)
        x_test, y_test = make(dataset.n_test, size=size, seed=test_seed)
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
    x : float32 ``(n, H, W, C)`` in [0, 1], with ``n = per_class * num_classes``
        (fewer if a class has fewer images)
    y : int64 ``(n,)``, sorted: ``[0]*per_class + [1]*per_class + ...``
    class_names : list of str
    """
    per_class = whole_number(per_class, "per_class", 1)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'. Received: {split!r}")
    dataset = info(name)
    if dataset.synthetic:
        # Generate just enough images instead of the whole dataset.
        x, y = GENERATORS[name](
            per_class * dataset.num_classes * 2, size=dataset.input_shape[0], seed=seed
        )
        class_names = list(dataset.class_names)
    else:
        train, test, class_names = load(name, data_dir=data_dir)
        x, y = train if split == "train" else test
    picks = np.concatenate([np.flatnonzero(y == k)[:per_class] for k in range(len(class_names))])
    return x[picks], y[picks], class_names
