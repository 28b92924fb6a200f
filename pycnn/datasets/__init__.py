"""Datasets for the playground: three real ones shipped as compact ``.npz`` files, two generated.

>>> from pycnn import datasets
>>> datasets.available()
['digits', 'mnist', 'fashion', 'shapes', 'colour-shapes']
>>> datasets.info("mnist").input_shape
(28, 28, 1)
>>> (x_train, y_train), (x_test, y_test), class_names = datasets.load("digits")
>>> x_train.shape, x_train.dtype, y_train.dtype
((1497, 8, 8, 1), dtype('float32'), dtype('int64'))

Where each real dataset comes from, its licence and how the subset was chosen:
``pycnn/datasets/data/PROVENANCE.json`` and ``docs/DATA.md``.
"""

from .loading import DATA_DIR, load, preview
from .registry import (
    COLOUR_SHAPE_CLASSES,
    COLOURS,
    DATASETS,
    SHAPE_CLASSES,
    DatasetInfo,
    available,
    info,
)
from .shapes import make_colour_shapes, make_shapes

__all__ = [
    "COLOURS",
    "COLOUR_SHAPE_CLASSES",
    "DATASETS",
    "DATA_DIR",
    "SHAPE_CLASSES",
    "DatasetInfo",
    "available",
    "info",
    "load",
    "make_colour_shapes",
    "make_shapes",
    "preview",
]
